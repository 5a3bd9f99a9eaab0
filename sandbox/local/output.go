package local

import (
	"io"
	"os"
	"sync"
	"time"
)

// output carries a process's stdout and stderr to the caller's writers through pipes this package
// owns, so that Exec, not os/exec, decides how long to wait for them. Writes to both writers are
// serialised by one mutex.
type output struct {
	mu     sync.Mutex // held while calling a caller's writer
	reads  []*os.File // parent ends
	writes []*os.File // child ends, closed in the parent once the process started
	wg     sync.WaitGroup

	stdout, stderr *os.File // what the child gets; nil means /dev/null
}

// newOutput makes the pipes for stdout and stderr; a nil writer gets none (os/exec opens
// /dev/null), and one writer passed as both gets a single pipe, keeping the two streams in order.
func newOutput(stdout, stderr io.Writer) (*output, error) {
	o := &output{}
	var err error
	if stdout != nil {
		if o.stdout, err = o.pipe(stdout); err != nil {
			o.closeAll()
			return nil, err
		}
	}
	switch {
	case stderr == nil:
	case stdout != nil && sameWriter(stdout, stderr):
		o.stderr = o.stdout
	default:
		if o.stderr, err = o.pipe(stderr); err != nil {
			o.closeAll()
			return nil, err
		}
	}
	return o, nil
}

// pipe makes one pipe whose read end will be copied to w.
func (o *output) pipe(w io.Writer) (*os.File, error) {
	r, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	o.reads = append(o.reads, r)
	o.writes = append(o.writes, pw)
	o.wg.Add(1)
	go o.copy(w, r)
	return pw, nil
}

// copy passes everything read from r to w as soon as it arrives. After a Write error it keeps
// draining r, so the process never blocks on a full pipe, but drops the data.
func (o *output) copy(w io.Writer, r *os.File) {
	defer o.wg.Done()
	defer r.Close()
	buf := make([]byte, 32*1024)
	var werr error
	for {
		n, err := r.Read(buf)
		if n > 0 && werr == nil {
			o.mu.Lock()
			_, werr = w.Write(buf[:n])
			o.mu.Unlock()
		}
		if err != nil {
			return
		}
	}
}

// started closes the parent's copies of the child ends, so that a read sees EOF once every process
// holding them has gone.
func (o *output) started() {
	for _, f := range o.writes {
		_ = f.Close()
	}
}

// wait returns once both streams reached EOF, or after grace, when it closes the read ends (what a
// process still holding the pipe writes later is lost) and waits for the last Write to finish.
func (o *output) wait(grace time.Duration) {
	done := make(chan struct{})
	go func() {
		o.wg.Wait()
		close(done)
	}()
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-done:
		return
	case <-t.C:
	}
	for _, f := range o.reads {
		_ = f.Close()
	}
	<-done
}

// closeAll releases every pipe end, for a process that did not start.
func (o *output) closeAll() {
	for _, f := range o.writes {
		_ = f.Close()
	}
	for _, f := range o.reads {
		_ = f.Close()
	}
	o.wg.Wait()
}

// sameWriter reports whether a and b are the same writer; writers of uncomparable types never are.
func sameWriter(a, b io.Writer) (same bool) {
	defer func() {
		if recover() != nil {
			same = false
		}
	}()
	return a == b
}

// input feeds a process's stdin from a reader through a pipe, when the reader is not a file. The
// copy stops when the reader is exhausted or the process is done; a Read still blocked then is
// abandoned rather than waited for.
type input struct {
	child, parent *os.File
}

// newInput returns what the child's stdin should be: nil for /dev/null, the file itself, or the
// read end of a pipe fed from r.
func newInput(r io.Reader) (*input, *os.File, error) {
	switch r := r.(type) {
	case nil:
		return nil, nil, nil
	case *os.File:
		return nil, r, nil
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, nil, err
	}
	in := &input{child: pr, parent: pw}
	go func() {
		_, _ = io.Copy(pw, r)
		_ = pw.Close()
	}()
	return in, pr, nil
}

// started closes the parent's copy of the child's end.
func (in *input) started() {
	if in != nil {
		_ = in.child.Close()
	}
}

// close stops feeding the process: a Write blocked on a full pipe returns and later ones fail.
func (in *input) close() {
	if in != nil {
		_ = in.child.Close()
		_ = in.parent.Close()
	}
}
