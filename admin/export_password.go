package admin

// HashPassword returns the argon2id hash the web app stores for password. Tools and tests that create
// users outside the sign-up form (an admin CLI, fixtures) use it so those users can sign in.
func HashPassword(password string) (string, error) { return hashPassword(password) }
