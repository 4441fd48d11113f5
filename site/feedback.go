package site

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/catalogue/feedback"
	"github.com/candour/candour/publisher"
)

// Pooled patient feedback on the site: the "What patients say" section of
// an organisation's scorecard (its data gathered by organisationFeedback,
// rendered by the "feedback" partial), its JSON at
// /api/v1/organisations/{code}/feedback, and the administrators'
// moderation page in the workspace (/workspace/feedback).
//
// Public pages show visible items only, as the store's public queries
// return them; every item is attributed to its source, with a link back to
// it there, and every rating distribution counts only what is shown.

// Feedback is the feedback store as the site reads it (feedback.Store).
type Feedback interface {
	// Visible returns an organisation's visible items, newest first.
	Visible(ctx context.Context, organisation string, limit int) ([]feedback.Item, error)
	// Distributions returns its rating distribution per source.
	Distributions(ctx context.Context, organisation string) ([]feedback.Distribution, error)
	// Held returns the items waiting for a moderator, oldest first.
	Held(ctx context.Context, limit int) ([]feedback.Item, error)
}

// FeedbackModerator records administrators' decisions, each with its
// audit log entry (*feedbackpoll.Moderator).
type FeedbackModerator interface {
	Hide(ctx context.Context, actor publisher.Actor, source, id, reason string) (feedback.Item, error)
	Release(ctx context.Context, actor publisher.Actor, source, id, reason string) (feedback.Item, error)
}

// Limits of what feedback pages show.
const (
	// feedbackPerSource is how many recent items a scorecard shows from
	// each source; feedbackRead how many recent items it reads to find
	// them.
	feedbackPerSource = 5
	feedbackRead      = 200
	// feedbackHeldShown is how many held items the moderation page lists.
	feedbackHeldShown = 200
	// feedbackFound is how many of an organisation's visible items the
	// moderation page lists.
	feedbackFound = 100
)

// feedbackSection is the scorecard's "What patients say": one entry per
// source with visible items for the organisation.
type feedbackSection struct {
	Sources []feedbackSource
}

// feedbackSource is one source's rating distribution and recent items.
type feedbackSource struct {
	feedback.Distribution
	// Stars are the distribution's rows, five stars first.
	Stars []starCount
	// Average is the mean rating to one decimal place ("" without
	// ratings).
	Average string
	// Unrated is how many visible items have no rating.
	Unrated int
	// Chart is the distribution as a small bar chart's options ("" without
	// ratings); the table gives the same counts.
	Chart  string
	Recent []feedbackItem
}

// starCount is one row of a rating distribution.
type starCount struct {
	Stars, Count int
	// Share is Count as a percentage of the ratings, to the nearest whole.
	Share string
}

// feedbackItem is an item as a page shows it.
type feedbackItem struct {
	feedback.Item
	Published, Responded string // dates in words
}

func itemView(it feedback.Item) feedbackItem {
	v := feedbackItem{Item: it, Published: ukDate(it.Published)}
	if !it.Response.Published.IsZero() {
		v.Responded = ukDate(it.Response.Published)
	}
	return v
}

func ukDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(london).Format("2 January 2006")
}

// organisationFeedback gathers the scorecard's feedback section for an
// organisation: nil when no source has a visible item about it (or the
// site reads no feedback).
func (s *Site) organisationFeedback(ctx context.Context, code string) (*feedbackSection, error) {
	if s.deps.Feedback == nil {
		return nil, nil
	}
	dists, err := s.deps.Feedback.Distributions(ctx, code)
	if err != nil || len(dists) == 0 {
		return nil, err
	}
	items, err := s.deps.Feedback.Visible(ctx, code, feedbackRead)
	if err != nil {
		return nil, err
	}
	sec := &feedbackSection{}
	for _, d := range dists {
		src := feedbackSource{Distribution: d, Unrated: d.Items - d.Ratings}
		for stars := 5; stars >= 1; stars-- {
			n := d.Stars[stars-1]
			share := ""
			if d.Ratings > 0 {
				share = strconv.Itoa(int(float64(n)*100/float64(d.Ratings)+0.5)) + "%"
			}
			src.Stars = append(src.Stars, starCount{Stars: stars, Count: n, Share: share})
		}
		if d.Ratings > 0 {
			src.Average = strconv.FormatFloat(d.Mean(), 'f', 1, 64)
			src.Chart = ratingsChart(d)
		}
		for _, it := range items {
			if it.Source == d.Source.Name && len(src.Recent) < feedbackPerSource {
				src.Recent = append(src.Recent, itemView(it))
			}
		}
		sec.Sources = append(sec.Sources, src)
	}
	return sec, nil
}

// apiFeedback is /api/v1/organisations/{code}/feedback.
type apiFeedback struct {
	Organisation string              `json:"organisation"`
	Sources      []apiFeedbackSource `json:"sources"`
}

type apiFeedbackSource struct {
	Name     string `json:"name"`
	Title    string `json:"title"`
	Homepage string `json:"homepage"`
	// Stars counts visible items by rating: stars[0] one star, stars[4]
	// five.
	Stars   [5]int            `json:"stars"`
	Ratings int               `json:"ratings"`
	Items   int               `json:"items"`
	Mean    *float64          `json:"mean"`
	Recent  []apiFeedbackItem `json:"recent"`
}

type apiFeedbackItem struct {
	ID        string               `json:"id"`
	Link      string               `json:"link"`
	Published time.Time            `json:"published"`
	Rating    *int                 `json:"rating"`
	Title     string               `json:"title"`
	Comment   string               `json:"comment"`
	Response  *apiFeedbackResponse `json:"response"`
}

type apiFeedbackResponse struct {
	Text      string     `json:"text"`
	Published *time.Time `json:"published"`
}

func (s *Site) apiOrganisationFeedback(c *fiber.Ctx) error {
	ctx := c.UserContext()
	o, err := s.deps.Catalogue.View().Organisation(ctx, c.Params("code"))
	if err != nil {
		return err
	}
	sec, err := s.organisationFeedback(ctx, o.Code)
	if err != nil {
		return err
	}
	out := apiFeedback{Organisation: o.Code, Sources: []apiFeedbackSource{}}
	if sec != nil {
		for _, src := range sec.Sources {
			a := apiFeedbackSource{Name: src.Source.Name, Title: src.Source.Title, Homepage: src.Source.Homepage,
				Stars: src.Distribution.Stars, Ratings: src.Ratings, Items: src.Items, Recent: []apiFeedbackItem{}}
			if src.Ratings > 0 {
				mean := src.Distribution.Mean()
				a.Mean = &mean
			}
			for _, it := range src.Recent {
				item := apiFeedbackItem{ID: it.ID, Link: it.Link, Published: it.Item.Published.UTC(), Title: it.Title, Comment: it.Comment}
				if it.Rating > 0 {
					r := int(it.Rating)
					item.Rating = &r
				}
				if it.Response.Present() {
					item.Response = &apiFeedbackResponse{Text: it.Response.Text}
					if !it.Response.Published.IsZero() {
						at := it.Response.Published.UTC()
						item.Response.Published = &at
					}
				}
				a.Recent = append(a.Recent, item)
			}
			out.Sources = append(out.Sources, a)
		}
	}
	return c.JSON(out)
}

// feedbackPage is the administrators' moderation page.
type feedbackPage struct {
	layout
	Held []feedbackItem
	// Organisation is the code whose visible items are listed (Found),
	// for hiding one.
	Organisation string
	Found        []feedbackItem
	Notice       string
	Error        string
	// Form is the form sent back with its problem: its source, id and
	// action, and the reason given.
	Form feedbackForm
}

type feedbackForm struct {
	Source, ID, Action, Reason string
}

// requireModerator lets only administrators through, answering anyone
// else 403: moderating feedback is theirs alone.
func (s *Site) requireModerator(c *fiber.Ctx) error {
	if !session(c).Actor.Has(publisher.RoleAdministrator) {
		return &userError{status: http.StatusForbidden, message: "Only administrators moderate patient feedback."}
	}
	return c.Next()
}

func (s *Site) feedbackModeration(c *fiber.Ctx) error {
	return s.feedbackModerationPage(c, feedbackPage{Notice: c.Query("done")})
}

func (s *Site) feedbackModerationPage(c *fiber.Ctx, page feedbackPage) error {
	ctx := c.UserContext()
	page.layout = s.wsLayout(c, "Patient feedback to moderate")
	held, err := s.deps.Feedback.Held(ctx, feedbackHeldShown)
	if err != nil {
		return err
	}
	for _, it := range held {
		page.Held = append(page.Held, itemView(it))
	}
	if page.Organisation == "" {
		page.Organisation = strings.ToUpper(strings.TrimSpace(c.Query("organisation")))
	}
	if page.Organisation != "" {
		found, err := s.deps.Feedback.Visible(ctx, page.Organisation, feedbackFound)
		if err != nil {
			return err
		}
		for _, it := range found {
			page.Found = append(page.Found, itemView(it))
		}
	}
	if page.Error != "" {
		c.Status(http.StatusUnprocessableEntity)
	}
	return s.render(c, "workspace_feedback", page)
}

// moderateFeedback hides or releases one item, with the reason given.
func (s *Site) moderateFeedback(c *fiber.Ctx) error {
	form := feedbackForm{Source: c.FormValue("source"), ID: c.FormValue("id"), Action: c.Params("action"), Reason: strings.TrimSpace(c.FormValue("reason"))}
	org := strings.ToUpper(strings.TrimSpace(c.FormValue("organisation")))
	actor := session(c).Actor
	var err error
	switch form.Action {
	case "hide":
		_, err = s.deps.Moderator.Hide(c.UserContext(), actor, form.Source, form.ID, form.Reason)
	case "release":
		_, err = s.deps.Moderator.Release(c.UserContext(), actor, form.Source, form.ID, form.Reason)
	default:
		return errNotFound
	}
	if errors.Is(err, feedback.ErrInvalid) || errors.Is(err, feedback.ErrNotFound) {
		return s.feedbackModerationPage(c, feedbackPage{Organisation: org, Form: form, Error: sentence(err)})
	}
	if err != nil {
		return err
	}
	// Scorecards show the change at once, not when their cached copies
	// expire.
	s.InvalidateCache()
	done := "item " + form.ID + " of " + form.Source + " hidden"
	if form.Action == "release" {
		done = "item " + form.ID + " of " + form.Source + " released: it is shown on its organisation's scorecard"
	}
	q := url.Values{"done": {done}}
	if org != "" {
		q.Set("organisation", org)
	}
	return c.Redirect("/workspace/feedback?"+q.Encode(), http.StatusSeeOther)
}
