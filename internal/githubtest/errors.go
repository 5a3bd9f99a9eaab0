package githubtest

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// docsREST is the documentation_url GitHub puts on generic errors
// ("Bad credentials", "Not Found", JWT problems).
const docsREST = "https://docs.github.com/rest"

// Messages GitHub answers with, word for word.
const (
	msgNotFound        = "Not Found"
	msgBadCredentials  = "Bad credentials"
	msgRequiresAuth    = "Requires authentication"
	msgNotAccessible   = "Resource not accessible by integration"
	msgValidation      = "Validation Failed"
	msgProblemsParsing = "Problems parsing JSON"
)

// apiError is GitHub's error body:
//
//	{"message":"Not Found","documentation_url":"https://docs.github.com/rest","status":"404"}
//
// status is a string in GitHub's answers, not a number.
type apiError struct {
	Message          string       `json:"message"`
	Errors           []fieldError `json:"errors,omitempty"`
	DocumentationURL string       `json:"documentation_url"`
	Status           string       `json:"status"`
}

// fieldError is one entry of the "errors" list of a 422 Validation Failed.
type fieldError struct {
	Resource string `json:"resource"`
	Code     string `json:"code"`
	Field    string `json:"field,omitempty"`
	Message  string `json:"message,omitempty"`
}

// writeJSON writes v as GitHub does: no HTML escaping, a trailing newline.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// writeError writes a GitHub error body with the given status and message.
func writeError(w http.ResponseWriter, status int, message, docURL string) {
	if docURL == "" {
		docURL = docsREST
	}
	writeJSON(w, status, apiError{Message: message, DocumentationURL: docURL, Status: strconv.Itoa(status)})
}

// writeValidation writes a 422 "Validation Failed" with the field errors.
func writeValidation(w http.ResponseWriter, docURL string, fes ...fieldError) {
	writeJSON(w, http.StatusUnprocessableEntity, apiError{
		Message:          msgValidation,
		Errors:           fes,
		DocumentationURL: docURL,
		Status:           strconv.Itoa(http.StatusUnprocessableEntity),
	})
}

func writeNotFound(w http.ResponseWriter, docURL string) {
	writeError(w, http.StatusNotFound, msgNotFound, docURL)
}

// writeFailure answers a request that FailNext told to fail. A body that is a
// JSON object is sent as is; any other body is the message of a GitHub error.
func writeFailure(w http.ResponseWriter, f failure) {
	if json.Valid([]byte(f.body)) && len(f.body) > 0 && f.body[0] == '{' {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(f.status)
		_, _ = w.Write([]byte(f.body))
		return
	}
	msg := f.body
	if msg == "" {
		msg = http.StatusText(f.status)
	}
	writeError(w, f.status, msg, docsREST)
}
