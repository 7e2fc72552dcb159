package oauth1

// MaxParamBytes bounds one OAuth parameter, for the external tests.
const MaxParamBytes = maxParamBytes
