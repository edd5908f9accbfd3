// Command table renders the compatibility matrix's last results (JSON, as
// the matrix test writes them) as Markdown: `make compat` runs it to write
// docs/compatibility.md.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/integration/compat"
)

func main() {
	in := flag.String("in", "integration/compat/last-run.json", "results of the last run")
	out := flag.String("out", "docs/compatibility.md", "Markdown file to write")
	flag.Parse()
	r, err := compat.ReadResults(*in)
	if err != nil {
		fmt.Fprintln(os.Stderr, err, "(run `make compat` to produce it)")
		os.Exit(1)
	}
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := os.WriteFile(*out, []byte(compat.Markdown(r)), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("wrote %s (%d rows, %s)\n", *out, len(r.Rows), r.Target)
}
