//go:build linux

package site

import (
	"errors"
	"net"
	"os"
	"syscall"
)

// sendFileStep is how much one sendfile call may send (nginx's
// sendfile_max_chunk default), so that one download does not hold the
// thread for the whole file.
const sendFileStep = 2 << 20

var errShortFile = errors.New("release file ended before its recorded size")

// sendFileCorked corks conn (TCP_CORK), calls flush to send what is
// buffered before the file, sends length bytes of file from offset start
// and uncorks conn. handled is false when the sockets could not be
// reached (nothing was sent: the caller copies instead).
func sendFileCorked(conn *net.TCPConn, flush func() error, file *os.File, start, length int64) (sent int64, handled bool, err error) {
	raw, err := conn.SyscallConn()
	if err != nil {
		return 0, false, nil
	}
	src, err := file.SyscallConn()
	if err != nil {
		return 0, false, nil
	}
	setCork(raw, 1)
	defer setCork(raw, 0)
	if err := flush(); err != nil {
		return 0, true, err
	}
	offset, end := start, start+length
	var sendErr error
	ctlErr := src.Control(func(srcFD uintptr) {
		writeErr := raw.Write(func(dstFD uintptr) bool {
			for offset < end {
				n, err := syscall.Sendfile(int(dstFD), int(srcFD), &offset, int(min(end-offset, sendFileStep)))
				switch {
				case err == syscall.EAGAIN:
					return false // wait until the socket can take more
				case err == syscall.EINTR:
				case err != nil:
					sendErr = err
					return true
				case n == 0:
					sendErr = errShortFile
					return true
				}
			}
			return true
		})
		if sendErr == nil {
			sendErr = writeErr
		}
	})
	if sendErr == nil {
		sendErr = ctlErr
	}
	return offset - start, true, sendErr
}

func setCork(raw syscall.RawConn, on int) {
	raw.Control(func(fd uintptr) {
		syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_CORK, on)
	})
}
