package agent

// resultEvent is the result event of a run that ended with r: its summary, or its error when it
// failed, with its usage.
func resultEvent(r Result) Event {
	e := Event{Type: EventResult, Text: r.Summary, IsError: !r.OK, Usage: &r.Usage}
	if !r.OK {
		e.Text = r.Error
	}
	return e
}
