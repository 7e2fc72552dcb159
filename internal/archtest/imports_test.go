package archtest

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/gatehouse/gatehouse"

// layer names the architectural layer of a package of this module (see
// ARCHITECTURE.md), or "" for packages the rules do not constrain
// (examples, tests' helpers).
func layer(pkg string) string {
	rel := strings.TrimPrefix(strings.TrimPrefix(pkg, module), "/")
	switch {
	case rel == "auth" || rel == "auth/password" || rel == "auth/stores" || rel == "auth/pwcheck":
		return "core"
	case rel == "basic" || rel == "token" || rel == "oauth1" || rel == "oauth2" || rel == "session" || rel == "mtls" || rel == "oidc":
		return "scheme"
	case rel == "importer":
		return "importer"
	case strings.HasPrefix(rel, "store/internal/"):
		return "store-internal"
	case rel == "store/memstore" || rel == "store/sqlstore" || rel == "store/redisstore":
		return "store"
	case rel == "preset":
		return "preset"
	}
	return ""
}

// allowedSchemeImports are the only edges between schemes.
var allowedSchemeImports = map[string]bool{
	"oauth2 -> token": true, // the token endpoint issues tokens
}

// TestImports fails when a package imports across the rules: the core
// imports no scheme and no store; a scheme imports no store backend and no
// other scheme beyond the allowed edges; a store backend imports no scheme.
func TestImports(t *testing.T) {
	cmd := exec.Command("go", "list", "-json", module+"/...")
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	checked := 0
	for {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		from := layer(p.ImportPath)
		if from == "" {
			continue
		}
		checked++
		for _, imp := range p.Imports {
			if !strings.HasPrefix(imp, module+"/") {
				continue
			}
			to := layer(imp)
			edge := strings.TrimPrefix(p.ImportPath, module+"/") + " -> " + strings.TrimPrefix(imp, module+"/")
			switch {
			case from == "core" && (to == "scheme" || to == "store" || to == "store-internal"):
				t.Errorf("%s: the core imports no scheme and no store", edge)
			case from == "scheme" && (to == "store" || to == "store-internal"):
				t.Errorf("%s: a scheme takes the narrow store interfaces of auth, never a backend", edge)
			case from == "scheme" && to == "scheme" && !allowedSchemeImports[edge]:
				t.Errorf("%s: schemes stand side by side; only %v are allowed", edge, keys(allowedSchemeImports))
			case from == "importer" && to != "core" && to != "":
				t.Errorf("%s: the importer writes through auth/stores' interfaces only", edge)
			case from == "store" && to == "scheme":
				t.Errorf("%s: a store backend knows no scheme", edge)
			case from == "store" && to == "store":
				t.Errorf("%s: store backends do not depend on each other", edge)
			case from == "preset" && (to == "store" || to == "store-internal"):
				t.Errorf("%s: presets take stores as interfaces (preset.Stores), never a backend", edge)
			case to == "preset" && from != "":
				t.Errorf("%s: presets sit on top; nothing of the library imports them", edge)
			}
		}
	}
	if checked < 12 {
		t.Fatalf("only %d packages checked: the layer table is out of date", checked)
	}
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
