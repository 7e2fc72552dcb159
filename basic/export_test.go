package basic

// For the external tests.
var StripCredentials = stripCredentials
