// pprof_oracle: an independent reading of profiles through Go's
// github.com/google/pprof/profile package, for rmp-report's tests.
//
//	pprof_oracle totals FILE...   merge (profile.Merge) and print "type/unit total" lines
//	pprof_oracle compare A B      same sample types and, per (stack, labels), same values
//	pprof_oracle top FILE TYPE    "name (file) flat cum" per function, sorted
package main

import (
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/google/pprof/profile"
)

func load(path string) *profile.Profile {
	f, err := os.Open(path)
	if err != nil {
		fail("%v", err)
	}
	defer f.Close()
	p, err := profile.Parse(f)
	if err != nil {
		fail("%s: %v", path, err)
	}
	if err := p.CheckValid(); err != nil {
		fail("%s: invalid: %v", path, err)
	}
	return p
}

func fail(format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "pprof_oracle: "+format+"\n", a...)
	os.Exit(1)
}

func key(s *profile.Sample) string {
	var b strings.Builder
	for _, l := range s.Location {
		for _, ln := range l.Line {
			fmt.Fprintf(&b, "%s|%s|%d;", ln.Function.Name, ln.Function.Filename, ln.Line)
		}
		if len(l.Line) == 0 {
			fmt.Fprintf(&b, "0x%x;", l.Address)
		}
	}
	var labs []string
	for k, v := range s.Label {
		labs = append(labs, fmt.Sprintf("%s=%v", k, v))
	}
	for k, v := range s.NumLabel {
		labs = append(labs, fmt.Sprintf("%s=%v%v", k, v, s.NumUnit[k]))
	}
	sort.Strings(labs)
	return b.String() + " {" + strings.Join(labs, ",") + "}"
}

func byStack(p *profile.Profile) map[string][]int64 {
	m := map[string][]int64{}
	for _, s := range p.Sample {
		k := key(s)
		if m[k] == nil {
			m[k] = make([]int64, len(s.Value))
		}
		for i, v := range s.Value {
			m[k][i] += v
		}
	}
	return m
}

func types(p *profile.Profile) string {
	var t []string
	for _, st := range p.SampleType {
		t = append(t, st.Type+"/"+st.Unit)
	}
	return strings.Join(t, ",")
}

func main() {
	if len(os.Args) < 3 {
		fail("usage: pprof_oracle totals FILE... | compare A B | top FILE TYPE")
	}
	switch os.Args[1] {
	case "totals":
		var ps []*profile.Profile
		for _, f := range os.Args[2:] {
			ps = append(ps, load(f))
		}
		m, err := profile.Merge(ps)
		if err != nil {
			fail("merge: %v", err)
		}
		for i, st := range m.SampleType {
			var t int64
			for _, s := range m.Sample {
				t += s.Value[i]
			}
			fmt.Printf("%s/%s %d\n", st.Type, st.Unit, t)
		}
	case "compare":
		a, b := load(os.Args[2]), load(os.Args[3])
		if types(a) != types(b) {
			fail("sample types differ: %s vs %s", types(a), types(b))
		}
		ma, mb := byStack(a), byStack(b)
		bad := 0
		for k, va := range ma {
			if fmt.Sprint(va) != fmt.Sprint(mb[k]) {
				bad++
				if bad < 10 {
					fmt.Fprintf(os.Stderr, "differs: %s: %v vs %v\n", k, va, mb[k])
				}
			}
		}
		for k := range mb {
			if _, ok := ma[k]; !ok {
				bad++
				if bad < 10 {
					fmt.Fprintf(os.Stderr, "only in second: %s\n", k)
				}
			}
		}
		if a.TimeNanos != b.TimeNanos || a.DurationNanos != b.DurationNanos || a.Period != b.Period {
			fail("headers differ: time %d/%d duration %d/%d period %d/%d", a.TimeNanos, b.TimeNanos,
				a.DurationNanos, b.DurationNanos, a.Period, b.Period)
		}
		if bad > 0 {
			fail("%d of %d stacks differ", bad, len(ma))
		}
		fmt.Printf("same: %d stacks, %d samples vs %d\n", len(ma), len(a.Sample), len(b.Sample))
	case "top":
		p := load(os.Args[2])
		ti := -1
		for i, st := range p.SampleType {
			if st.Type == os.Args[3] {
				ti = i
			}
		}
		if ti < 0 {
			fail("no sample type %s", os.Args[3])
		}
		flat, cum := map[string]int64{}, map[string]int64{}
		for _, s := range p.Sample {
			seen := map[string]bool{}
			leaf := true
			for _, l := range s.Location {
				for _, ln := range l.Line {
					n := ln.Function.Name
					if ln.Function.Filename != "" {
						n += " (" + ln.Function.Filename + ")"
					}
					if leaf {
						flat[n] += s.Value[ti]
						leaf = false
					}
					if !seen[n] {
						seen[n] = true
						cum[n] += s.Value[ti]
					}
				}
			}
		}
		var names []string
		for n := range cum {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			fmt.Printf("%d %d %s\n", flat[n], cum[n], n)
		}
	default:
		fail("unknown command %s", os.Args[1])
	}
}
