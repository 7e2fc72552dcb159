package mtls_test

import (
	"net/http/httptest"
	"testing"

	"github.com/gatehouse/gatehouse/mtls"
)

func FuzzPKIResourceQuery(f *testing.F) {
	ca, err := mtls.NewCA(mtls.CAOptions{ClusterName: "fuzz"})
	if err != nil {
		f.Fatal(err)
	}
	h := mtls.PKIResource{CA: ca.Cert}
	f.Add("resource=ca-certificate&format=X509-PEM-CA")
	f.Add("resource=engine-certificate&format=OPENSSH-PUBKEY")
	f.Add("resource=%zz&format=;;")
	f.Fuzz(func(t *testing.T, q string) {
		req := httptest.NewRequest("GET", "https://engine/ovirt-engine/services/pki-resource", nil)
		req.URL.RawQuery = q
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 && rec.Code != 400 {
			t.Fatalf("status %d for %q", rec.Code, q)
		}
	})
}
