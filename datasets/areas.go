package datasets

import (
	"regexp"
	"strings"
)

// Area codes name places (England, a region, an integrated care board)
// rather than organisations that provide care. A release file's
// organisation column often holds a few of them as benchmark rows: an
// England row, a row per region. They are recognised by their code, so
// that they are treated as benchmarks and never listed as organisations.
//
// Recognised without being declared:
//   - ONS (GSS) codes: a country letter (E, W, S, N) and eight digits,
//     such as E92000001 (England), E40000003 (an NHS England region),
//     E12000001 (an ONS region), E54000050 (an ICB), W92000004 (Wales);
//   - NHS England region codes of the ODS directory: Y56 and Y58 to Y63.
//
// Other area codes (a publisher's "Total" or "ENG") are declared by the
// schema (candour:organisation.notOrganisations) or the indicator
// definition (benchmark.englandValues, benchmark.areas).

var gssCode = regexp.MustCompile(`^[EWSN][0-9]{8}$`)

// gssLevels maps a GSS entity prefix to the level of area it names.
var gssLevels = map[string]string{
	"E92": "national", "W92": "national", "S92": "national", "N92": "national", "K02": "national", "K03": "national", "K04": "national",
	"E12": "region", "E40": "region", "E15": "region",
	"E54": "icb", "E38": "icb", "W11": "icb", "S08": "icb",
}

// odsRegions are the NHS England region codes of the ODS directory.
var odsRegions = map[string]bool{"Y56": true, "Y58": true, "Y59": true, "Y60": true, "Y61": true, "Y62": true, "Y63": true}

// AreaLevel says whether code is an area code this package recognises,
// and the level of area it names ("national", "region", "icb", or "area"
// for other GSS entities such as local authorities).
func AreaLevel(code string) (string, bool) {
	code = strings.TrimSpace(code)
	if odsRegions[code] {
		return "region", true
	}
	if !gssCode.MatchString(code) && !(len(code) == 9 && strings.HasPrefix(code, "K0") && isDigits(code[1:])) {
		return "", false
	}
	if level, ok := gssLevels[code[:3]]; ok {
		return level, true
	}
	return "area", true
}

// EnglandCode is the ONS code of England.
const EnglandCode = "E92000001"

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}
