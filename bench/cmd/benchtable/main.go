// Command benchtable runs the peer benchmarks of package bench (or reads
// their output) and writes the comparison: a Markdown table between the
// markers in bench/README.md, with each row's harness floor (the same
// request served the same way to the bare handler: the family's "harness"
// benchmark), its overhead over that floor, the ratio to gatehouse and the
// targets, and an SVG chart of the overheads.
//
//	cd bench && go run ./cmd/benchtable            # runs go test -bench . -count 5
//	go run ./cmd/benchtable -in bench.txt          # from saved output
package main

import (
	"bufio"
	"bytes"
	"cmp"
	"flag"
	"fmt"
	"io"
	"log"
	"math"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
)

// sample is one benchmark's result, the median of its runs.
type sample struct {
	name   string
	ns     float64
	allocs int
}

var line = regexp.MustCompile(`^(Benchmark\S+?)(-\d+)?\s+\d+\s+([\d.]+) ns/op(?:\s+[\d.]+ B/op\s+(\d+) allocs/op)?`)

// parse reads go test -bench output; several runs of a name give their
// median. The GOMAXPROCS suffix ("-2") is dropped, or, with byCPU, kept as
// "@N" ("@1" for a run without one), so that -cpu 1,N runs stay apart.
func parse(r io.Reader, byCPU bool) map[string]sample {
	runs := map[string][]float64{}
	allocs := map[string]int{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		m := line.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		name := m[1]
		if byCPU {
			cpus := "1"
			if m[2] != "" {
				cpus = m[2][1:]
			}
			name += "@" + cpus
		}
		ns, _ := strconv.ParseFloat(m[3], 64)
		runs[name] = append(runs[name], ns)
		allocs[name], _ = strconv.Atoi(m[4])
	}
	out := map[string]sample{}
	for name, v := range runs {
		slices.Sort(v)
		out[name] = sample{name: name, ns: v[len(v)/2], allocs: allocs[name]}
	}
	return out
}

// scalingTable renders the parallel paths' scaling: time on one core over
// time on N, against N (perfect) and against the bare handler's and the
// context floor's scaling.
func scalingTable(s map[string]sample) string {
	n := 0
	for name := range s {
		if _, c, ok := strings.Cut(name, "@"); ok && c != "1" {
			n, _ = strconv.Atoi(c)
		}
	}
	scale := func(path string) (one, many, x float64, ok bool) {
		a, ok1 := s["BenchmarkParallel/"+path+"@1"]
		v, ok2 := s[fmt.Sprintf("BenchmarkParallel/%s@%d", path, n)]
		if !ok1 || !ok2 {
			return 0, 0, 0, false
		}
		return a.ns, v.ns, a.ns / v.ns, true
	}
	_, _, bareX, ok := scale("bare")
	if !ok {
		return ""
	}
	_, _, floorX, _ := scale("context-floor")
	var b strings.Builder
	fmt.Fprintf(&b, "\nScaling under `b.RunParallel`: each path's time per request on one core (GOMAXPROCS=1) over its time on %d (%d× is perfect); target: a cached path keeps ≥ 90 %% of the bare handler's scaling. The context floor is the least any middleware that hands an identity to the handler does (a context value and `r.WithContext`'s request copy):\n\n", n, n)
	b.WriteString("| path | 1 core | " + strconv.Itoa(n) + " cores | scaling | share of the bare handler's | share of the context floor's |\n|---|---:|---:|---:|---:|---:|\n")
	for _, p := range []string{"bare", "context-floor", "basic-cached", "token", "client-cert"} {
		one, many, x, ok := scale(p)
		if !ok {
			continue
		}
		share := 100 * x / bareX
		mark := ""
		if p != "bare" && p != "context-floor" {
			mark = " (met)"
			if share < 90 {
				mark = " (**missed**)"
			}
		}
		floor := ""
		if floorX > 0 {
			floor = fmt.Sprintf("%.0f %%", 100*x/floorX)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %.2f× | %.0f %%%s | %s |\n", p, fmtNS(one), fmtNS(many), x, share, mark, floor)
	}
	return b.String()
}

// harnessName is the benchmark of each family that serves its request(s) to
// the bare handler.
const harnessName = "harness"

// targets are issue 18's bounds on gatehouse's overhead over its harness,
// in ns, on a machine whose floor row takes targetFloor; render scales them
// by the run's own floor row, so that a slow day moves the bounds with
// the rows.
const targetFloor = 168

var targets = map[string]float64{
	"Middleware/gatehouse": 300, "BasicCached/gatehouse": 1000, "Token/gatehouse-x-auth-token": 1000,
	"Token/gatehouse-pat": 1000, "Session/gatehouse": 1000, "OAuth1/gatehouse": 3000, "ClientCert/gatehouse": 300,
}

// notes say where the work differs.
var notes = map[string]string{
	"BasicBcrypt":   "one bcrypt (cost 10) per request on both sides (gatehouse's cache off)",
	"BasicMD5Crypt": "one md5-crypt per request on both sides (gatehouse's cache off)",
	"BasicCached":   "gatehouse's verified-credential cache; no peer caches",
	"Token":         "keyed hash, store lookup, owner re-checked; the PAT also parses Basic (a right one touches no throttle counter, a wrong one is counted)",
	"Session":       "gatehouse: store lookup + user re-check; scs: store lookup + decode; gorilla: cookie HMAC + decode, no server state (cannot be revoked)",
	"OAuth1":        "gatehouse also checks the nonce (once only) and maps FOREMAN-USER to a user; mrjones checks no nonce. Each iteration puts a newly signed Authorization value (signed outside the timer) into the one request served, so the nonce table holds the whole run's nonces (~350 000), as a busy server's does: its lookups miss the CPU caches",
	"Bearer":        "gatehouse: keyed hash + store lookup + owner re-check; fosite: HMAC + store lookup",
	"PasswordGrant": "the same work on both sides: the client's bcrypt-10 secret checked on every request, the user's password (gatehouse: cached; fosite: plain text), a token stored",
	"ClientCert":    "gatehouse reads the handshake's verified chain; k8s-x509 verifies the chain again per request",
	"Floor":         "SHA-256 of the secret and a map lookup: the least a credential check can cost",
	"Middleware":    "gatehouse's middleware around an authenticator that returns a fixed identity",
}

func main() {
	in := flag.String("in", "", "read go test -bench output from this file instead of running it")
	scalingIn := flag.String("scaling-in", "", "with -in: read the -cpu 1,N run of BenchmarkParallel from this file")
	count := flag.Int("count", 5, "runs of each benchmark (the median is kept)")
	readme := flag.String("readme", "README.md", "file whose table markers are replaced")
	svg := flag.String("svg", "chart.svg", "the chart to write")
	flag.Parse()
	var raw []byte
	if *in != "" {
		b, err := os.ReadFile(*in)
		if err != nil {
			log.Fatal(err)
		}
		raw = b
	} else {
		cmd := exec.Command("go", "test", "-run", "^$", "-bench", ".", "-benchmem", "-count", strconv.Itoa(*count), ".")
		var buf bytes.Buffer
		cmd.Stdout, cmd.Stderr = io.MultiWriter(&buf, os.Stderr), os.Stderr
		if err := cmd.Run(); err != nil {
			log.Fatal(err)
		}
		raw = buf.Bytes()
	}
	s := parse(bytes.NewReader(raw), false)
	scaling := map[string]sample{}
	if *scalingIn != "" {
		raw, err := os.ReadFile(*scalingIn)
		if err != nil {
			log.Fatal(err)
		}
		scaling = parse(bytes.NewReader(raw), true)
	}
	if *in == "" {
		// Scaling: the parallel paths on one core and on all of them, kept
		// apart by the -N suffix go test gives GOMAXPROCS > 1.
		n := runtime.NumCPU()
		cmd := exec.Command("go", "test", "-run", "^$", "-bench", "^BenchmarkParallel$", "-benchmem", "-cpu", fmt.Sprintf("1,%d", n), "-count", strconv.Itoa(*count), ".")
		var buf bytes.Buffer
		cmd.Stdout, cmd.Stderr = io.MultiWriter(&buf, os.Stderr), os.Stderr
		if err := cmd.Run(); err != nil {
			log.Fatal(err)
		}
		scaling = parse(bytes.NewReader(buf.Bytes()), true)
	}
	bare, ok := s["BenchmarkBare"]
	if !ok {
		log.Fatal("no BenchmarkBare in the output")
	}
	table, rows := render(s, bare.ns, scaling)
	if err := replace(*readme, table); err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(*svg, chart(rows), 0o644); err != nil {
		log.Fatal(err)
	}
	fmt.Print(table)
}

type row struct {
	family, who      string
	ns, floor0       float64 // floor0: the row's harness floor
	overhead         float64
	allocs           int
	ratio, target    string
	gatehouse, floor bool
}

// render builds the Markdown table.
func render(s map[string]sample, bare float64, scaling map[string]sample) (string, []row) {
	var names []string
	for n := range s {
		if n != "BenchmarkBare" && !strings.HasPrefix(n, "BenchmarkParallel") && !strings.HasSuffix(n, "/"+harnessName) {
			names = append(names, n)
		}
	}
	order := []string{"Floor", "Middleware", "BasicCached", "Token", "Session", "OAuth1", "Bearer", "ClientCert", "BasicBcrypt", "BasicMD5Crypt", "PasswordGrant"}
	rank := func(n string) int {
		fam, _, _ := strings.Cut(strings.TrimPrefix(n, "Benchmark"), "/")
		if i := slices.Index(order, fam); i >= 0 {
			return i
		}
		return len(order)
	}
	slices.SortFunc(names, func(a, b string) int {
		if c := cmp.Compare(rank(a), rank(b)); c != 0 {
			return c
		}
		ga, gb := strings.Contains(a, "/gatehouse"), strings.Contains(b, "/gatehouse")
		if ga != gb {
			if ga {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	// The targets are absolute times on the machine of the run that set
	// them; this run's floor row says how much slower or faster this
	// machine is today, and the targets move with it.
	speed := 1.0
	if f, ok := s["BenchmarkFloor"]; ok && f.ns > 0 {
		speed = f.ns / targetFloor
	}
	var rows []row
	var b strings.Builder
	fmt.Fprintf(&b, "Bare handler: %.0f ns/op. Harness = the same request(s) served the same way to the bare handler, with no authentication (each family's `harness` benchmark; the bare handler where a family has none). Overhead = a row's time − its harness. Ratio = gatehouse's time ÷ the peer's (below 1: gatehouse is faster). Targets are issue 18's, set against a floor row of %s and scaled by this run's floor (×%.2f).\n\n", bare, fmtNS(targetFloor), speed)
	b.WriteString("| work | library | ns/op | harness | overhead | allocs | ratio | target | note |\n|---|---|---:|---:|---:|---:|---:|---|---|\n")
	lastFam := ""
	for _, n := range names {
		fam, who, _ := strings.Cut(strings.TrimPrefix(n, "Benchmark"), "/")
		if who == "" {
			who = "—"
		}
		floor := bare
		if h, ok := s["Benchmark"+fam+"/"+harnessName]; ok {
			floor = h.ns
		}
		r := row{family: fam, who: who, ns: s[n].ns, floor0: floor, overhead: s[n].ns - floor, allocs: s[n].allocs,
			gatehouse: strings.HasPrefix(who, "gatehouse"), floor: fam == "Floor"}
		if !r.gatehouse && !r.floor {
			if g, ok := s["Benchmark"+fam+"/gatehouse"]; ok {
				r.ratio = fmt.Sprintf("%.2f×", g.ns/r.ns)
			}
		}
		if t, ok := targets[fam+"/"+who]; ok {
			t *= speed
			mark := "met"
			if r.overhead > t {
				mark = "**missed**"
			}
			r.target = fmt.Sprintf("≤ %s: %s", fmtNS(t), mark)
		}
		note := ""
		if fam != lastFam {
			note = notes[fam]
		}
		lastFam = fam
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %d | %s | %s | %s |\n", fam, who, fmtNS(r.ns), fmtNS(r.floor0), fmtNS(r.overhead), r.allocs, r.ratio, r.target, note)
		rows = append(rows, r)
	}
	if len(scaling) > 0 {
		b.WriteString(scalingTable(scaling))
	}
	return b.String(), rows
}

func fmtNS(ns float64) string {
	switch {
	case math.Abs(ns) >= 1e6:
		return fmt.Sprintf("%.2f ms", ns/1e6)
	case math.Abs(ns) >= 1e3:
		return fmt.Sprintf("%.2f µs", ns/1e3)
	}
	return fmt.Sprintf("%.0f ns", ns)
}

// replace puts table between <!-- benchtable --> and <!-- /benchtable -->.
func replace(path, table string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	const open, close = "<!-- benchtable -->\n", "<!-- /benchtable -->"
	i, j := bytes.Index(b, []byte(open)), bytes.Index(b, []byte(close))
	if i < 0 || j < i {
		return fmt.Errorf("%s has no %q … %q markers", path, strings.TrimSpace(open), close)
	}
	out := append(append(append([]byte{}, b[:i+len(open)]...), table...), b[j:]...)
	return os.WriteFile(path, out, 0o644)
}

// chart draws each row's overhead as a bar on a log scale (1 ns … 100 ms).
func chart(rows []row) []byte {
	const left, width, barH, gap = 330, 520, 18, 6
	h := 40 + len(rows)*(barH+gap) + 30
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">`+"\n", left+width+110, h)
	fmt.Fprintf(&b, `<text x="10" y="20" font-size="14" font-weight="bold">Overhead over the bare handler per request (log scale; blue: gatehouse)</text>`+"\n")
	x := func(ns float64) float64 {
		v := math.Log10(max(ns, 1)) / 8 // 1 ns … 100 ms
		return left + min(v, 1)*width
	}
	for _, tick := range []float64{1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8} {
		fmt.Fprintf(&b, `<line x1="%.1f" y1="30" x2="%.1f" y2="%d" stroke="#ddd"/><text x="%.1f" y="%d" text-anchor="middle" fill="#555">%s</text>`+"\n",
			x(tick), x(tick), h-25, x(tick), h-10, fmtNS(tick))
	}
	for i, r := range rows {
		y := 36 + i*(barH+gap)
		color := "#c0c4cc"
		if r.gatehouse {
			color = "#1f5fbf"
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">%s · %s</text>`+"\n", left-8, y+13, r.family, r.who)
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"/>`+"\n", left, y, x(r.overhead)-left, barH, color)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d">%s</text>`+"\n", x(r.overhead)+4, y+13, fmtNS(r.overhead))
	}
	b.WriteString("</svg>\n")
	return []byte(b.String())
}
