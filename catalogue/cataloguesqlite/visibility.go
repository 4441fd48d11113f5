package cataloguesqlite

import (
	"github.com/candour/candour/catalogue"
)

// The SQL forms of catalogue's visibility rules. Each returns a predicate
// over the given table alias and its arguments, and fails on a zero
// Visibility so a read that forgot to say who asks sees nothing.

// releaseContent: the release's content (files, rows, organisations it
// names) is visible.
func releaseContent(v catalogue.Visibility, r string) (string, []any, error) {
	return releasePredicate(v, r, `'published', 'superseded'`)
}

// releaseListed: the release has a visible page.
func releaseListed(v catalogue.Visibility, r string) (string, []any, error) {
	return releasePredicate(v, r, `'published', 'superseded', 'withdrawn'`)
}

func releasePredicate(v catalogue.Visibility, r, states string) (string, []any, error) {
	if !v.Set() {
		return "", nil, errNoVisibility
	}
	if v.IsInternal() {
		return "1 = 1", nil, nil
	}
	at, _ := v.PublicAt()
	return "(" + r + ".state IN (" + states + ") AND " + r + ".published_at IS NOT NULL AND " + r + ".published_at <= ?)",
		[]any{formatInstant(at)}, nil
}

// datasetListed: the dataset has a public entry.
func datasetListed(v catalogue.Visibility, d string) (string, []any, error) {
	listed, args, err := releaseListed(v, "lr")
	if err != nil {
		return "", nil, err
	}
	// A dataset with a release on the calendar is announced too: the
	// calendar links to it (its releases stay embargoed).
	announced := "1 = 1"
	if at, public := v.PublicAt(); public {
		announced = "ce.announced_at <= ?"
		args = append(args, formatInstant(at))
	}
	return "(" + d + ".announced = 1 OR EXISTS (SELECT 1 FROM releases lr WHERE lr.dataset_id = " + d + ".id AND " + listed + ")" +
		" OR EXISTS (SELECT 1 FROM calendar_entries ce WHERE ce.dataset_id = " + d + ".id AND ce.status <> 'cancelled' AND " + announced + "))", args, nil
}

// datasetStatus is the dataset's status as the reader sees it: published
// once a release's content is visible, unless withdrawn.
func datasetStatus(v catalogue.Visibility, d string) (string, []any, error) {
	content, args, err := releasePredicate(v, "sr", `'published', 'superseded'`)
	if err != nil {
		return "", nil, err
	}
	if v.IsInternal() {
		content = "sr.state IN ('published', 'superseded')"
	}
	return "(CASE WHEN " + d + ".status = 'withdrawn' THEN 'withdrawn'" +
		" WHEN EXISTS (SELECT 1 FROM releases sr WHERE sr.dataset_id = " + d + ".id AND " + content + ") THEN 'published'" +
		" WHEN " + d + ".status = 'published' THEN 'planned'" +
		" ELSE " + d + ".status END)", args, nil
}

// organisationVisible: a directory organisation, or one named by a release
// whose content is visible.
func organisationVisible(v catalogue.Visibility, o string) (string, []any, error) {
	content, args, err := releaseContent(v, "vr")
	if err != nil {
		return "", nil, err
	}
	return "(" + o + ".in_directory = 1 OR EXISTS (SELECT 1 FROM organisation_mentions vm JOIN releases vr ON vr.id = vm.release_id WHERE vm.code = " + o + ".code AND " + content + "))", args, nil
}

// organisationColumns selects an organisation's columns, taking the name and
// type of one outside the directory from the newest visible release that
// gives them.
func organisationColumns(v catalogue.Visibility, o string) (string, []any, error) {
	nameContent, nameArgs, err := releaseContent(v, "nr")
	if err != nil {
		return "", nil, err
	}
	typeContent, typeArgs, err := releaseContent(v, "tr")
	if err != nil {
		return "", nil, err
	}
	cols := o + ".code," +
		" CASE WHEN " + o + ".in_directory = 1 THEN " + o + ".name ELSE COALESCE((SELECT nm.name FROM organisation_mentions nm JOIN releases nr ON nr.id = nm.release_id" +
		" WHERE nm.code = " + o + ".code AND nm.name <> '' AND " + nameContent + " ORDER BY COALESCE(nr.published_at, '9999') DESC, nr.id DESC LIMIT 1), '') END AS name," +
		" CASE WHEN " + o + ".in_directory = 1 THEN " + o + ".type ELSE COALESCE((SELECT tm.type FROM organisation_mentions tm JOIN releases tr ON tr.id = tm.release_id" +
		" WHERE tm.code = " + o + ".code AND tm.type NOT IN ('', 'unknown') AND " + typeContent + " ORDER BY COALESCE(tr.published_at, '9999') DESC, tr.id DESC LIMIT 1), " + o + ".type) END AS type," +
		" " + o + ".address, " + o + ".postcode, " + o + ".phone, " + o + ".status, " + o + ".opened, " + o + ".closed," +
		" " + o + ".parent_code, " + o + ".region_code, " + o + ".successor_code, " + o + ".in_directory, " + o + ".source, " + o + ".details," +
		" " + o + ".latitude, " + o + ".longitude, " + o + ".location_source"
	return cols, append(nameArgs, typeArgs...), nil
}
