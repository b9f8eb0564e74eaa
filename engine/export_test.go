package engine

// SetDetectWindow sets the detection window for a test and returns a
// function restoring it.
func SetDetectWindow(n int) func() {
	old := detectWindow
	detectWindow = n
	return func() { detectWindow = old }
}
