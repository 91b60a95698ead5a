package diagnose

// AnalyzeChainFresh is AnalyzeChain without the memo, for the tests.
var AnalyzeChainFresh = analyzeChain
