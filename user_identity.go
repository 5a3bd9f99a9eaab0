package sesame

// Identity is an account of a user at an external sign-in provider (OpenID Connect): the provider
// as Sesame names it (OIDC_PROVIDER_ID), the issuer that vouched for it and the subject ("sub") the
// issuer gave it. Subjects are unique only within their issuer, so all three name one account; a
// user may have several.
type Identity struct {
	Provider string // OIDC_PROVIDER_ID at the time of linking, e.g. "oidc"
	Issuer   string // the ID token's "iss"
	Subject  string // the ID token's "sub"
	Email    string // the address the provider gave when the identity was recorded, for the record
	// EmailVerified says the provider vouched for Email: linking the identity to the user with that
	// address marks it confirmed (User.EmailVerifiedAt).
	EmailVerified bool
}
