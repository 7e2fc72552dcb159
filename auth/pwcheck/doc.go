// Package pwcheck is gatehouse's one password pipeline: check a login and
// password against the user store (StoreVerifier: dummy hashes for unknown
// users, hostile costs refused, legacy hashes upgraded), with the hashing
// bounded (HashSlots: NumCPU at once, a CPU budget, no hash for a client
// that left), behind a verified-credential Cache (extended while in use,
// re-checked in the background), under a Throttle (per address, per login
// and address, per login; attempts reserved before they are checked;
// concurrent checks of one credential collapsed). New builds it once; basic,
// token's issuing endpoint and the OAuth 2 token endpoint take the same
// *Pipeline.
package pwcheck
