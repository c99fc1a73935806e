// Command validate is the Go-side oracle for rmp_pprof.h: it parses each
// profile with github.com/google/pprof/profile (the parser behind
// `go tool pprof`), runs CheckValid, checks that every string is valid
// UTF-8, and prints one line of totals per file:
//
//	<file> samples=<n> allocations=<sum> allocation_size=<sum> ...
//
// Exit status 1 on the first profile that fails.
package main

import (
	"fmt"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/google/pprof/profile"
)

func checkStrings(p *profile.Profile) error {
	bad := func(what, s string) error {
		if !utf8.ValidString(s) {
			return fmt.Errorf("invalid UTF-8 in %s: %q", what, s)
		}
		return nil
	}
	for _, f := range p.Function {
		for _, s := range []string{f.Name, f.SystemName, f.Filename} {
			if err := bad("function", s); err != nil {
				return err
			}
		}
	}
	for _, c := range p.Comments {
		if err := bad("comment", c); err != nil {
			return err
		}
	}
	for _, s := range p.Sample {
		for k, vs := range s.Label {
			for _, v := range vs {
				if err := bad("label "+k, v); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func validate(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	p, err := profile.Parse(f)
	if err != nil {
		return fmt.Errorf("parse: %v", err)
	}
	if err := p.CheckValid(); err != nil {
		return fmt.Errorf("CheckValid: %v", err)
	}
	if err := checkStrings(p); err != nil {
		return err
	}
	if p.DefaultSampleType != "retained_size" {
		return fmt.Errorf("default sample type %q", p.DefaultSampleType)
	}
	totals := make([]int64, len(p.SampleType))
	for _, s := range p.Sample {
		for i, v := range s.Value {
			// Sums of saturated values saturate too, as the C model's do.
			if v > 0 && totals[i] > (1<<63-1)-v {
				totals[i] = 1<<63 - 1
			} else {
				totals[i] += v
			}
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s samples=%d", path, len(p.Sample))
	for i, st := range p.SampleType {
		fmt.Fprintf(&b, " %s=%d", st.Type, totals[i])
	}
	fmt.Println(b.String())
	return nil
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: validate profile...")
		os.Exit(2)
	}
	for _, path := range os.Args[1:] {
		if err := validate(path); err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", path, err)
			os.Exit(1)
		}
	}
}
