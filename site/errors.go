package site

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/catalogue"
	"github.com/candour/candour/datasets"
	"github.com/candour/candour/publisher"
)

// userError is an error whose message is meant for the reader of the page.
type userError struct {
	status  int
	message string
}

func (e *userError) Error() string { return e.message }

var errNotFound = &userError{status: http.StatusNotFound, message: "If you typed the web address, check it is correct. If you pasted it, check you copied the entire address."}

// badParam reports a query or path parameter the site cannot use, naming it.
func badParam(name, value, want string) error {
	return &userError{status: http.StatusBadRequest, message: fmt.Sprintf("The %s parameter %q is not valid: %s.", name, value, want)}
}

type errorPage struct {
	layout
	Status  int
	Heading string
	Message string
}

// handleError is the one place errors become responses: user mistakes get
// their status and a plain message; anything else is logged in full and
// the reader sees a generic apology.
func (s *Site) handleError(c *fiber.Ctx, err error) error {
	status := http.StatusInternalServerError
	heading := "Sorry, there is a problem with the service"
	message := "Try again later."

	var ue *userError
	var fe *fiber.Error
	switch {
	case errors.As(err, &ue):
		status, message = ue.status, ue.message
	case errors.Is(err, catalogue.ErrNotFound):
		status, message = http.StatusNotFound, errNotFound.message
	case errors.Is(err, publisher.ErrForbidden):
		status, message = http.StatusForbidden, sentence(err)
	case errors.Is(err, publisher.ErrNotAllowed), errors.Is(err, catalogue.ErrConflict):
		status, message = http.StatusConflict, sentence(err)
	case errors.Is(err, publisher.ErrInvalid), errors.Is(err, catalogue.ErrInvalid):
		status, message = http.StatusBadRequest, sentence(err)
	case errors.As(err, &fe):
		status = fe.Code
		message = fe.Message
	case errors.Is(err, datasets.ErrUnavailable):
		// A store's server is not answering: say so, and when to try
		// again; the driver reconnects by itself once it is back.
		status, message = http.StatusServiceUnavailable, unavailableMessage(c)
		c.Set(fiber.HeaderRetryAfter, "30")
		s.log.Warn("a data store is not answering", "method", c.Method(), "path", c.Path(), "err", err)
		ue = &userError{status: status, message: message}
	}
	switch {
	case status == http.StatusNotFound:
		heading = "Page not found"
	case status == http.StatusBadRequest && !strings.HasPrefix(c.Path(), "/workspace"):
		heading = "There is a problem with the address"
	case status == http.StatusBadRequest:
		heading = "There is a problem with what was sent"
	case status < 500:
		heading = http.StatusText(status)
	case ue != nil:
		heading = http.StatusText(status) // chosen, such as shedding load: counted in /metrics, not an error to log
	default:
		s.log.Error("request failed", "method", c.Method(), "path", c.Path(), "status", status, "err", err)
	}

	c.Status(status)
	if c.Path() == "/healthz" {
		return c.JSON(fiber.Map{"status": "unavailable"})
	}
	if strings.HasPrefix(c.Path(), "/api/") {
		code := apiErrorCode(status)
		if errors.Is(err, datasets.ErrUnavailable) {
			code = "unavailable"
		}
		return c.JSON(apiErrorBody{Error: apiErrorDetail{Code: code, Message: message}})
	}
	page := errorPage{layout: s.layout(c, heading), Status: status, Heading: heading, Message: message}
	if rerr := s.render(c, "error", page); rerr != nil {
		s.log.Error("rendering the error page failed", "err", rerr)
		c.Set(fiber.HeaderContentType, fiber.MIMETextPlainCharsetUTF8)
		return c.SendString(heading + "\n")
	}
	return nil
}

// unavailableMessage says what a store's server not answering meant for
// the request: a page or answer without its figures, or (for anything
// that writes) a submission or action that stored nothing.
func unavailableMessage(c *fiber.Ctx) string {
	if c.Method() == fiber.MethodGet || c.Method() == fiber.MethodHead {
		return "Some of the figures on this page are kept on a server that is not answering. Try again in a minute."
	}
	return "A server that keeps the figures is not answering, so nothing was stored. Try again in a minute."
}

// sentence turns a domain error into a sentence for the reader: its message
// with the first letter capitalised and a full stop.
func sentence(err error) string {
	msg := err.Error()
	for _, prefix := range []string{"forbidden: ", "not allowed by the publishing workflow: ", "invalid: ", "conflict: ", "already exists: "} {
		msg = strings.Replace(msg, prefix, "", 1)
	}
	if msg == "" {
		return msg
	}
	r := []rune(msg)
	r[0] = unicode.ToUpper(r[0])
	msg = string(r)
	if !strings.HasSuffix(msg, ".") {
		msg += "."
	}
	return msg
}
