// Command fn is the function the lambda output's test invokes under
// aws-lambda-rie: it appends every payload it accepts (a JSON array) as
// one line to $RECORD_FILE, and fails (a function error, nothing
// recorded) the first time it sees an output holding "fail-once", and
// every time for "fail-always".
package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	failed := false
	lambda.Start(func(_ context.Context, batch []json.RawMessage) (int, error) {
		b, _ := json.Marshal(batch)
		if strings.Contains(string(b), "fail-always") || strings.Contains(string(b), "fail-once") && !failed {
			failed = true
			return 0, errors.New("refused this batch")
		}
		f, err := os.OpenFile(os.Getenv("RECORD_FILE"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return 0, err
		}
		defer f.Close()
		_, err = f.Write(append(b, '\n'))
		return len(batch), err
	})
}
