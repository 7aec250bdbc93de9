package platform

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/batchinfer/batchinfer/workflows"
)

// Overlap policy names, as the CLI takes them.
var overlapPolicies = map[string]enumspb.ScheduleOverlapPolicy{
	"skip":            enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
	"buffer-one":      enumspb.SCHEDULE_OVERLAP_POLICY_BUFFER_ONE,
	"buffer-all":      enumspb.SCHEDULE_OVERLAP_POLICY_BUFFER_ALL,
	"cancel-other":    enumspb.SCHEDULE_OVERLAP_POLICY_CANCEL_OTHER,
	"terminate-other": enumspb.SCHEDULE_OVERLAP_POLICY_TERMINATE_OTHER,
	"allow-all":       enumspb.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL,
}

// OverlapPolicyNames lists the accepted overlap policy names.
const OverlapPolicyNames = "skip, buffer-one, buffer-all, cancel-other, terminate-other, allow-all"

// ParseOverlap maps an overlap policy name to Temporal's enum.
func ParseOverlap(name string) (enumspb.ScheduleOverlapPolicy, error) {
	p, ok := overlapPolicies[strings.ToLower(strings.TrimSpace(name))]
	if !ok {
		return 0, fmt.Errorf("overlap policy %q: want one of %s", name, OverlapPolicyNames)
	}
	return p, nil
}

// OverlapName is the CLI name of an overlap policy ("" for unspecified).
func OverlapName(p enumspb.ScheduleOverlapPolicy) string {
	for n, v := range overlapPolicies {
		if v == p {
			return n
		}
	}
	return ""
}

// descriptors are the @-shortcuts, as 5-field expressions Temporal reads.
var descriptors = map[string]string{
	"@yearly":   "0 0 1 1 *",
	"@annually": "0 0 1 1 *",
	"@monthly":  "0 0 1 * *",
	"@weekly":   "0 0 * * 0",
	"@daily":    "0 0 * * *",
	"@midnight": "0 0 * * *",
	"@hourly":   "0 * * * *",
}

var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow)

// CronSpec is a validated set of schedule times: 5-field cron expressions
// and @every intervals, in a time zone.
type CronSpec struct {
	Expressions []string // 5-field cron expressions (shortcuts expanded)
	Intervals   []time.Duration
	Location    *time.Location
	specs       []*cron.SpecSchedule
}

// ParseCron validates cron expressions in a time zone (IANA name; "" is
// UTC). Each expression is 5 fields (minute hour day-of-month month
// day-of-week, with names like MON or JAN, ranges, lists and steps), a
// shortcut (@yearly, @annually, @monthly, @weekly, @daily, @midnight,
// @hourly) or "@every <duration>" (Go syntax, e.g. 90m). As in Temporal,
// when both day-of-month and day-of-week are restricted a time must match
// both.
func ParseCron(exprs []string, timeZone string) (*CronSpec, error) {
	if len(exprs) == 0 {
		return nil, errors.New("--cron is required: a 5-field cron expression such as \"0 2 * * *\", or @hourly, @daily, @weekly, @monthly, @yearly, @every 6h")
	}
	loc, err := LoadTimeZone(timeZone)
	if err != nil {
		return nil, err
	}
	s := &CronSpec{Location: loc}
	for _, raw := range exprs {
		e := strings.Join(strings.Fields(raw), " ")
		if strings.HasPrefix(e, "TZ=") || strings.HasPrefix(e, "CRON_TZ=") {
			return nil, fmt.Errorf("--cron %q: give the time zone with --time-zone, not in the expression", raw)
		}
		if rest, ok := strings.CutPrefix(e, "@every "); ok {
			d, err := time.ParseDuration(strings.TrimSpace(rest))
			if err != nil {
				return nil, fmt.Errorf("--cron %q: @every wants a duration such as 30m, 6h or 1h30m: %w", raw, err)
			}
			if d < time.Second || d%time.Second != 0 {
				return nil, fmt.Errorf("--cron %q: the interval must be a whole number of seconds, at least 1s", raw)
			}
			s.Intervals = append(s.Intervals, d)
			continue
		}
		if strings.HasPrefix(e, "@") {
			full, ok := descriptors[strings.ToLower(e)]
			if !ok {
				return nil, fmt.Errorf("--cron %q: unknown shortcut; want @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly or @every <duration>", raw)
			}
			e = full
		}
		if n := len(strings.Fields(e)); n != 5 {
			return nil, fmt.Errorf("--cron %q: want 5 fields (minute hour day-of-month month day-of-week), got %d", raw, n)
		}
		sched, err := cronParser.Parse(e)
		if err != nil {
			return nil, fmt.Errorf("--cron %q: %s", raw, cronFieldError(e, err))
		}
		spec := sched.(*cron.SpecSchedule)
		if _, ok := nextCron(spec, time.Date(2000, 1, 1, 0, 0, 0, 0, loc)); !ok {
			return nil, fmt.Errorf("--cron %q: never matches a date (check day-of-month against month and day-of-week)", raw)
		}
		s.Expressions = append(s.Expressions, e)
		s.specs = append(s.specs, spec)
	}
	return s, nil
}

// cronFieldNames name the 5 fields of a cron expression.
var cronFieldNames = [5]string{"minute", "hour", "day-of-month", "month", "day-of-week"}

// cronFieldError names the field of a 5-field expression that fails to
// parse, e.g. `day-of-week "8": end of range (8) above maximum (6)`.
func cronFieldError(expr string, err error) string {
	fields := strings.Fields(expr)
	for i, f := range fields {
		probe := []string{"*", "*", "*", "*", "*"}
		probe[i] = f
		if _, ferr := cronParser.Parse(strings.Join(probe, " ")); ferr != nil {
			msg := strings.TrimSuffix(ferr.Error(), ": "+f)
			return fmt.Sprintf("%s %q: %s", cronFieldNames[i], f, msg)
		}
	}
	return err.Error()
}

// LoadTimeZone resolves an IANA time zone name ("" and "UTC" are UTC).
func LoadTimeZone(name string) (*time.Location, error) {
	if name == "" {
		return time.UTC, nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("--time-zone %q: unknown time zone; want an IANA name such as UTC, Europe/Paris or America/New_York", name)
	}
	return loc, nil
}

// Next returns the n next times after t, earliest first.
func (s *CronSpec) Next(after time.Time, n int) []time.Time {
	var out []time.Time
	for _, spec := range s.specs {
		t := after.In(s.Location)
		for range n {
			nt, ok := nextCron(spec, t)
			if !ok {
				break
			}
			out = append(out, nt)
			t = nt
		}
	}
	for _, d := range s.Intervals {
		// Temporal counts intervals from the Unix epoch.
		t := after.Truncate(d).Add(d)
		for range n {
			out = append(out, t.In(s.Location))
			t = t.Add(d)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Before(out[j]) })
	out = dedupTimes(out)
	if len(out) > n {
		out = out[:n]
	}
	return out
}

// Interval is the shortest time between two consecutive slots, over the
// slots of the next year or so: the default catch-up window.
func (s *CronSpec) Interval(after time.Time) time.Duration {
	ts := s.Next(after, 64)
	var best time.Duration
	for i := 1; i < len(ts); i++ {
		if d := ts[i].Sub(ts[i-1]); d > 0 && (best == 0 || d < best) {
			best = d
		}
	}
	if best == 0 {
		best = 24 * time.Hour
	}
	return best
}

// Spec builds Temporal's schedule spec: the expressions go to the server as
// cron strings (it stores them as calendars), the intervals as intervals.
func (s *CronSpec) Spec(jitter time.Duration) client.ScheduleSpec {
	spec := client.ScheduleSpec{CronExpressions: s.Expressions, Jitter: jitter}
	for _, d := range s.Intervals {
		spec.Intervals = append(spec.Intervals, client.ScheduleIntervalSpec{Every: d})
	}
	if s.Location != time.UTC {
		spec.TimeZoneName = s.Location.String()
	}
	return spec
}

func dedupTimes(ts []time.Time) []time.Time {
	out := ts[:0]
	for i, t := range ts {
		if i > 0 && t.Equal(ts[i-1]) {
			continue
		}
		out = append(out, t)
	}
	return out
}

// nextCron is the first minute after t matching spec, where day-of-month
// and day-of-week must both match (Temporal's rule, unlike classic cron's
// "either"). False when none within 8 years.
func nextCron(spec *cron.SpecSchedule, t time.Time) (time.Time, bool) {
	loc := t.Location()
	t = t.Truncate(time.Minute).Add(time.Minute)
	limit := t.AddDate(8, 0, 0)
	bit := func(mask uint64, v int) bool { return mask&(1<<uint(v)) != 0 }
	for t.Before(limit) {
		if !bit(spec.Month, int(t.Month())) {
			t = time.Date(t.Year(), t.Month()+1, 1, 0, 0, 0, 0, loc)
			continue
		}
		if !bit(spec.Dom, t.Day()) || !bit(spec.Dow, int(t.Weekday())) {
			t = time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, loc)
			continue
		}
		if !bit(spec.Hour, t.Hour()) {
			t = time.Date(t.Year(), t.Month(), t.Day(), t.Hour()+1, 0, 0, 0, loc)
			continue
		}
		if !bit(spec.Minute, t.Minute()) {
			t = t.Add(time.Minute)
			continue
		}
		return t, true
	}
	return time.Time{}, false
}

// ScheduleAction is the BatchPredict start a schedule performs: workflow ID
// batchpredict/<schedule id> (Temporal appends the slot time), the job
// named after the schedule, and the same summary, details and search
// attributes as StartJob.
func ScheduleAction(scheduleID, taskQueue string, in workflows.BatchPredictInput) *client.ScheduleWorkflowAction {
	in.Job = scheduleID
	return &client.ScheduleWorkflowAction{
		ID:                       ScheduleWorkflowID(scheduleID),
		Workflow:                 workflows.BatchPredict,
		Args:                     []any{in},
		TaskQueue:                taskQueue,
		WorkflowExecutionTimeout: RunTimeout,
		StaticSummary:            JobSummary(in),
		StaticDetails:            JobDetails(in),
		TypedSearchAttributes:    jobSearchAttributes(in),
	}
}

// FormatCalendar renders a calendar spec back as a cron-like line
// ("minute hour day-of-month month day-of-week", plus seconds and years
// when they are not the defaults).
func FormatCalendar(c client.ScheduleCalendarSpec) string {
	f := func(rs []client.ScheduleRange, lo, hi int, def string) string {
		if len(rs) == 0 {
			return def
		}
		var parts []string
		for _, r := range rs {
			end := r.End
			if end < r.Start {
				end = r.Start
			}
			step := r.Step
			if step <= 0 {
				step = 1
			}
			switch {
			case r.Start == lo && end >= hi && step == 1:
				parts = append(parts, "*")
			case r.Start == end:
				parts = append(parts, strconv.Itoa(r.Start))
			case step == 1:
				parts = append(parts, fmt.Sprintf("%d-%d", r.Start, end))
			case r.Start == lo && end >= hi:
				parts = append(parts, fmt.Sprintf("*/%d", step))
			default:
				parts = append(parts, fmt.Sprintf("%d-%d/%d", r.Start, end, step))
			}
		}
		return strings.Join(parts, ",")
	}
	s := strings.Join([]string{
		f(c.Minute, 0, 59, "0"), f(c.Hour, 0, 23, "0"), f(c.DayOfMonth, 1, 31, "*"),
		f(c.Month, 1, 12, "*"), f(c.DayOfWeek, 0, 6, "*"),
	}, " ")
	if sec := f(c.Second, 0, 59, "0"); sec != "0" {
		s += " (second " + sec + ")"
	}
	if len(c.Year) > 0 {
		s += " (year " + f(c.Year, 0, 9999, "*") + ")"
	}
	if c.Comment != "" {
		s += " # " + c.Comment
	}
	return s
}

// FormatSpec lists a schedule spec's times as the CLI shows them.
func FormatSpec(s *client.ScheduleSpec) []string {
	if s == nil {
		return nil
	}
	var out []string
	out = append(out, s.CronExpressions...)
	for _, c := range s.Calendars {
		out = append(out, FormatCalendar(c))
	}
	for _, iv := range s.Intervals {
		e := "@every " + iv.Every.String()
		if iv.Offset != 0 {
			e += " (offset " + iv.Offset.String() + ")"
		}
		out = append(out, e)
	}
	return out
}
