package password_test

import (
	"fmt"

	"github.com/gatehouse/gatehouse/auth/password"
)

func Example() {
	// A hash pasted from /etc/shadow (made by `openssl passwd -6 cluster-secret`).
	shadow := "$6$a2PDWrj7qZZ0nFDc$8vP5kPJH1iim3udBYTd9mqJGlhNoFF4DZ7Vf4kkd1ZBQshk5drmfSLROjh8vlf84W6tUCN3.svMmvyptWqU4l/"
	ok, err := password.Verify(shadow, "cluster-secret")
	fmt.Println(ok, err, password.Format(shadow))

	// After a successful login, upgrade legacy hashes to argon2id.
	if ok && password.NeedsRehash(shadow) {
		fresh, _ := password.Hash("cluster-secret")
		fmt.Println(password.Format(fresh))
	}
	// Output:
	// true <nil> sha512-crypt
	// argon2id
}
