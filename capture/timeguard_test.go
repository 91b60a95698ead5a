package capture

import (
	"testing"
	"time"
)

func TestTimeGuard(t *testing.T) {
	base := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	decades := 40 * 365 * 24 * time.Hour
	at := func(d time.Duration) time.Time { return base.Add(d) }
	cases := []struct {
		name  string
		in    []time.Duration // offsets from base, frame by frame
		want  []time.Duration
		fixed int // frames found wrong
		steps int // clock moves
	}{
		{"steady", []time.Duration{0, time.Second, 2 * time.Second}, []time.Duration{0, time.Second, 2 * time.Second}, 0, 0},
		{"one ahead", []time.Duration{0, decades, 2 * time.Second}, []time.Duration{0, 0, 2 * time.Second}, 1, 0},
		{"one behind", []time.Duration{0, -decades, 2 * time.Second}, []time.Duration{0, 0, 2 * time.Second}, 1, 0},
		{"the last one", []time.Duration{0, time.Second, decades}, []time.Duration{0, time.Second, time.Second}, 1, 0},
		{"two wrong in a row, apart", []time.Duration{0, decades, -decades, time.Second}, []time.Duration{0, 0, 0, time.Second}, 2, 0},
		{"clock set", []time.Duration{0, decades, decades + time.Second, decades + 2*time.Second}, []time.Duration{0, 0, decades + time.Second, decades + 2*time.Second}, 0, 1},
		{"a long pause", []time.Duration{0, 300 * 24 * time.Hour}, []time.Duration{0, 300 * 24 * time.Hour}, 0, 0},
	}
	for _, c := range cases {
		var g TimeGuard
		for i, d := range c.in {
			if got, _ := g.Fix(at(d), i+1); !got.Equal(at(c.want[i])) {
				t.Errorf("%s: frame %d at %v, want %v", c.name, i+1, got.Sub(base), c.want[i])
			}
		}
		g.Done()
		if g.n != c.fixed || g.steps != c.steps {
			t.Errorf("%s: %d frames found wrong, %d clock moves; want %d, %d", c.name, g.n, g.steps, c.fixed, c.steps)
		}
	}
}
