//go:build !wasip1

package weir

import (
	"fmt"
	"os"
)

// Config returns the value of a configuration key. Outside Wasm (native
// tests) it reads the environment variable WEIR_CONFIG_<key>.
func Config(key string) (string, bool) { return os.LookupEnv("WEIR_CONFIG_" + key) }

// LogDebug logs a message at debug level (standard error outside Wasm).
func LogDebug(msg string) { logNative("debug", msg) }

// LogInfo logs a message at info level (standard error outside Wasm).
func LogInfo(msg string) { logNative("info", msg) }

// LogWarn logs a message at warn level (standard error outside Wasm).
func LogWarn(msg string) { logNative("warn", msg) }

// LogError logs a message at error level (standard error outside Wasm).
func LogError(msg string) { logNative("error", msg) }

func logNative(level, msg string) { fmt.Fprintf(os.Stderr, "weir %s: %s\n", level, msg) }
