package publisher

import (
	"fmt"
	"slices"
	"strings"

	"github.com/candour/candour/catalogue"
)

// Role is what an account may do in the workflow. The values are the
// account roles of package accounts.
type Role string

// Roles. RoleSystem is the in-process scheduler: the only actor that
// publishes.
const (
	RolePublisher       Role = "publisher"        // submits releases for their organisation
	RoleReviewer        Role = "reviewer"         // transparency panel member
	RoleProviderChecker Role = "provider-checker" // previews their own organisation's figures
	RoleAdministrator   Role = "administrator"
	RoleSystem          Role = "system"
)

// Roles lists every role, for tests and help text.
var Roles = []Role{RolePublisher, RoleReviewer, RoleProviderChecker, RoleAdministrator, RoleSystem}

// Actor is who does something: an account (with its roles and
// organisation) or the system.
type Actor struct {
	Username string
	Name     string // shown publicly, e.g. as an approver
	Roles    []Role
	// Organisation is, for a publisher, the slug of the publisher they
	// submit for; for a provider checker, their organisation's ODS code;
	// for a reviewer, the organisation they belong to (if any), which they
	// may not review for.
	Organisation string
}

// SchedulerActor is the scheduler that publishes releases at their embargo
// instant.
var SchedulerActor = Actor{Username: "system:scheduler", Name: "Candour scheduler", Roles: []Role{RoleSystem}}

// Has reports whether a holds role r.
func (a Actor) Has(r Role) bool { return slices.Contains(a.Roles, r) }

// String names the actor in logs and the audit log.
func (a Actor) String() string {
	if a.Username == "" {
		return "anonymous"
	}
	return a.Username
}

// Action is something an actor does to a release.
type Action string

// Actions of the workflow.
const (
	ActionAmend        Action = "amend"          // replace the files of a release not yet approved
	ActionOpenPreview  Action = "open-preview"   // let provider checkers see their rows
	ActionSendToReview Action = "send-to-review" // hand the release to the panel
	ActionRaiseQuery   Action = "raise-query"    // a provider checker queries their figures
	ActionResolveQuery Action = "resolve-query"  // a reviewer answers a query
	ActionReview       Action = "review"         // record the seven considerations and a decision
	ActionSchedule     Action = "schedule"       // set the embargo instant
	ActionReschedule   Action = "reschedule"     // change it, with a reason
	ActionUnschedule   Action = "unschedule"     // take it off the calendar date, back to approved
	ActionPublish      Action = "publish"        // the flip at the embargo instant
	ActionCancel       Action = "cancel"         // abandon a release never published
	ActionWithdraw     Action = "withdraw"       // take published content down, keeping the page
	ActionCorrect      Action = "correct"        // submit a correcting version of a published release
	ActionViewOriginal Action = "view-original"  // see the file before disclosure control
)

// Actions lists every action.
var Actions = []Action{ActionAmend, ActionOpenPreview, ActionSendToReview, ActionRaiseQuery, ActionResolveQuery,
	ActionReview, ActionSchedule, ActionReschedule, ActionUnschedule, ActionPublish, ActionCancel, ActionWithdraw,
	ActionCorrect, ActionViewOriginal}

// permissions is the workflow's rule book: for each action, the states a
// release may be in and the roles that may take it. Separation of duties
// (no reviewer approves their own organisation's or their own submission;
// publishers act only for their own organisation; provider checkers only on
// releases naming their organisation) is checked on top, by the service.
var permissions = map[Action]struct {
	states []catalogue.ReleaseState
	roles  []Role
}{
	ActionAmend:        {states(catalogue.StateChecked, catalogue.StateInPreview, catalogue.StateInReview), roles(RolePublisher)},
	ActionOpenPreview:  {states(catalogue.StateChecked), roles(RolePublisher)},
	ActionSendToReview: {states(catalogue.StateChecked, catalogue.StateInPreview), roles(RolePublisher)},
	ActionRaiseQuery:   {states(catalogue.StateInPreview), roles(RoleProviderChecker)},
	ActionResolveQuery: {states(catalogue.StateInPreview, catalogue.StateInReview), roles(RoleReviewer)},
	ActionReview:       {states(catalogue.StateInReview), roles(RoleReviewer)},
	ActionSchedule:     {states(catalogue.StateApproved), roles(RolePublisher, RoleAdministrator)},
	ActionReschedule:   {states(catalogue.StateScheduled), roles(RolePublisher, RoleAdministrator)},
	ActionUnschedule:   {states(catalogue.StateScheduled), roles(RolePublisher, RoleAdministrator)},
	ActionPublish:      {states(catalogue.StateScheduled), roles(RoleSystem)},
	ActionCancel: {states(catalogue.StateDraft, catalogue.StateChecked, catalogue.StateInPreview, catalogue.StateInReview,
		catalogue.StateApproved, catalogue.StateScheduled), roles(RolePublisher, RoleAdministrator)},
	ActionWithdraw: {states(catalogue.StatePublished, catalogue.StateSuperseded), roles(RoleAdministrator)},
	ActionCorrect:  {states(catalogue.StatePublished), roles(RolePublisher)},
	ActionViewOriginal: {states(catalogue.StateDraft, catalogue.StateChecked, catalogue.StateInPreview, catalogue.StateInReview,
		catalogue.StateApproved, catalogue.StateScheduled), roles(RolePublisher, RoleReviewer, RoleAdministrator)},
}

func states(s ...catalogue.ReleaseState) []catalogue.ReleaseState { return s }
func roles(r ...Role) []Role                                      { return r }

// Permitted reports whether the workflow lets a holder of role take action
// on a release in state.
func Permitted(state catalogue.ReleaseState, action Action, role Role) bool {
	p, ok := permissions[action]
	return ok && slices.Contains(p.states, state) && slices.Contains(p.roles, role)
}

// permit checks that actor, by one of their roles, may take action on r.
func permit(actor Actor, action Action, r catalogue.Release) error {
	for _, role := range actor.Roles {
		if Permitted(r.State, action, role) {
			return nil
		}
	}
	p := permissions[action]
	if !slices.Contains(p.states, r.State) {
		return fmt.Errorf("%w: %s version %d is %s; %s is possible only when it is %s",
			ErrNotAllowed, r.Dataset.Slug, r.Version, strings.ToLower(r.State.Label()), action, stateList(p.states))
	}
	return fmt.Errorf("%w: %s needs the role %s; %s has %s", ErrForbidden, action, roleList(p.roles), actor, roleList(actor.Roles))
}

func stateList(ss []catalogue.ReleaseState) string {
	var out []string
	for _, s := range ss {
		out = append(out, strings.ToLower(s.Label()))
	}
	return strings.Join(out, " or ")
}

func roleList(rs []Role) string {
	if len(rs) == 0 {
		return "no role"
	}
	var out []string
	for _, r := range rs {
		out = append(out, string(r))
	}
	return strings.Join(out, " or ")
}
