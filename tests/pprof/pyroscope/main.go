// Command pyroscope checks contrib/pyroscope/sample_type_config.json
// against real profiles: Pyroscope's pprof ingest reads that file into a
// map of SampleTypeConfig (the struct below has Pyroscope's JSON names) and
// ingests only the sample types it names, so every sample type of every
// profile given must have an entry whose units fit the type's unit, with an
// aggregation Pyroscope knows, and none may be marked cumulative: RMP's
// values are per interval.
//
//	pyroscope CONFIG.json PROFILE...
package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/google/pprof/profile"
)

// As Pyroscope's pkg/og/storage/tree.SampleTypeConfig decodes it.
type sampleTypeConfig struct {
	Units       string `json:"units,omitempty"`
	DisplayName string `json:"display-name,omitempty"`
	Aggregation string `json:"aggregation,omitempty"`
	Cumulative  bool   `json:"cumulative,omitempty"`
	Sampled     bool   `json:"sampled,omitempty"`
}

// pprof unit -> Pyroscope unit.
var units = map[string]string{"count": "objects", "bytes": "bytes"}

func check(config map[string]*sampleTypeConfig, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	p, err := profile.Parse(f)
	if err != nil {
		return fmt.Errorf("%s: parse: %v", path, err)
	}
	seen := map[string]bool{}
	for _, st := range p.SampleType {
		seen[st.Type] = true
		c := config[st.Type]
		if c == nil {
			return fmt.Errorf("%s: sample type %s has no entry: Pyroscope would drop it", path, st.Type)
		}
		if want := units[st.Unit]; want == "" || c.Units != want {
			return fmt.Errorf("%s: %s/%s: units %q, want %q", path, st.Type, st.Unit, c.Units, want)
		}
		if c.Aggregation != "sum" && c.Aggregation != "average" {
			return fmt.Errorf("%s: %s: aggregation %q is neither sum nor average", path, st.Type, c.Aggregation)
		}
		if c.Cumulative || c.Sampled {
			return fmt.Errorf("%s: %s: RMP's values are per interval and already scaled, not cumulative or sampled", path, st.Type)
		}
		if c.DisplayName == "" {
			return fmt.Errorf("%s: %s: no display-name", path, st.Type)
		}
	}
	for name := range config {
		if !seen[name] {
			return fmt.Errorf("%s: the config names %s, which the profile does not have", path, name)
		}
	}
	return nil
}

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: pyroscope CONFIG.json PROFILE...")
		os.Exit(2)
	}
	raw, err := os.Open(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	dec := json.NewDecoder(raw)
	dec.DisallowUnknownFields()
	var config map[string]*sampleTypeConfig
	if err := dec.Decode(&config); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
	for _, path := range os.Args[2:] {
		if err := check(config, path); err != nil {
			fmt.Fprintln(os.Stderr, "FAIL:", err)
			os.Exit(1)
		}
	}
	fmt.Printf("%s fits the sample types of %d profile(s)\n", os.Args[1], len(os.Args)-2)
}
