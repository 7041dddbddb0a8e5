//! Statistics for admins and auditors (ADR 0027), with no case content and no case
//! reference: cases by state, priority, outcome and product; median and 90th
//! percentile of the time to acknowledge and to close; the acknowledgement and
//! feedback deadlines met and missed, by the month they fell due (the indicators of
//! ISO 37002 §9). Shown as SVG bar charts drawn on the server, each beside a table of
//! its numbers (`/statistics`), and as CSV (`/statistics.csv`).
//!
//! Everything is counted from the case rows' plain columns (state, priority, outcome,
//! the hour a case arrived, its deadlines and the times of its steps) and the product
//! counters the hand-over raises; nothing is opened.

use std::collections::BTreeMap;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use redress_domain::{CaseState, Outcome, Priority};
use redress_store::CaseFigures;

use crate::PortalState;
use crate::access::Viewer;
use crate::forms::{Answer, answer};
use crate::layout::{Chrome, page};

const HOUR: i64 = 3600;

/// A share of cases: the middle one (p = 50) or the one 90 % are at or under (p = 90),
/// by the nearest-rank method, so it is always a time some case really took. `sorted`
/// must be in ascending order.
pub fn percentile(sorted: &[i64], p: u32) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let n = sorted.len();
    // ceil(p/100 × n), at least 1.
    let rank = (n * p as usize).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

/// `2026-12` for a Unix time (UTC).
pub fn month(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix).map_or_else(
        |_| "?".to_owned(),
        |t| format!("{:04}-{:02}", t.year(), u8::from(t.month())),
    )
}

/// How long some cases took to reach a step.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Durations {
    /// How many cases reached it.
    pub cases: u64,
    /// Seconds, from the hour the case arrived.
    pub median: Option<i64>,
    pub p90: Option<i64>,
}

impl Durations {
    fn of(mut secs: Vec<i64>) -> Self {
        secs.sort_unstable();
        Self {
            cases: secs.len() as u64,
            median: percentile(&secs, 50),
            p90: percentile(&secs, 90),
        }
    }
}

/// Deadlines of one kind that fell due in a month: kept, and missed (a step taken late,
/// or a deadline passed with the step still not taken).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MetMissed {
    pub met: u64,
    pub missed: u64,
}

impl MetMissed {
    /// Counts a deadline `due` for a step taken at `done` (if it was), as of `now`. A
    /// deadline still ahead with its step not taken counts for nothing yet.
    fn count(&mut self, due: i64, done: Option<i64>, now: i64) {
        match done {
            Some(at) if at <= due => self.met += 1,
            Some(_) => self.missed += 1,
            None if now > due => self.missed += 1,
            None => {}
        }
    }
}

/// The deadlines of one month.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MonthFigures {
    pub acknowledgement: MetMissed,
    pub feedback: MetMissed,
}

/// Every figure of the page, counted from the case rows and product counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Figures {
    pub cases: u64,
    pub by_state: Vec<(CaseState, u64)>,
    /// `None`: not triaged yet.
    pub by_priority: Vec<(Option<Priority>, u64)>,
    /// Cases concluded (and not reopened since), by their outcome.
    pub by_outcome: Vec<(Outcome, u64)>,
    pub by_product: Vec<(String, u64)>,
    pub to_acknowledge: Durations,
    pub to_close: Durations,
    /// By the month a deadline fell due, oldest first; months with none left out.
    pub months: BTreeMap<String, MonthFigures>,
}

impl Figures {
    /// Counts `cases` as of `now`.
    pub fn count(cases: &[CaseFigures], by_product: Vec<(String, u64)>, now: i64) -> Self {
        let tally = |hit: &dyn Fn(&CaseFigures) -> bool| cases.iter().filter(|c| hit(c)).count() as u64;
        let by_state = CaseState::ALL
            .iter()
            .map(|&s| (s, tally(&|c| c.state == s)))
            .collect();
        let by_priority = Priority::ALL
            .iter()
            .map(|&p| Some(p))
            .chain([None])
            .map(|p| (p, tally(&|c| c.priority == p)))
            .collect();
        let by_outcome = Outcome::ALL
            .iter()
            .map(|&o| (o, tally(&|c| c.outcome == Some(o))))
            .collect();
        let to_acknowledge = Durations::of(
            cases
                .iter()
                .filter_map(|c| c.acknowledged_at.map(|at| at - c.received_at))
                .collect(),
        );
        // A reopened case keeps the time it was last closed; it counts once closed again.
        let to_close = Durations::of(
            cases
                .iter()
                .filter(|c| c.state == CaseState::Closed)
                .filter_map(|c| c.closed_at.map(|at| at - c.received_at))
                .collect(),
        );
        let mut months: BTreeMap<String, MonthFigures> = BTreeMap::new();
        for c in cases {
            if let Some(due) = c.ack_due {
                months
                    .entry(month(due))
                    .or_default()
                    .acknowledgement
                    .count(due, c.acknowledged_at, now);
            }
            if let Some(due) = c.feedback_due {
                // Feedback counts once given for the deadline that applies: a reopened
                // case has a new deadline and its earlier feedback does not meet it.
                let given = matches!(c.state, CaseState::FeedbackGiven | CaseState::Closed)
                    .then_some(c.feedback_given_at)
                    .flatten();
                months
                    .entry(month(due))
                    .or_default()
                    .feedback
                    .count(due, given, now);
            }
        }
        months.retain(|_, m| *m != MonthFigures::default());
        Self {
            cases: cases.len() as u64,
            by_state,
            by_priority,
            by_outcome,
            by_product,
            to_acknowledge,
            to_close,
            months,
        }
    }

    /// The figures as CSV: `figure,group,value`, one number a line; times in hours,
    /// empty where no case reached the step.
    pub fn csv(&self) -> String {
        let mut out = String::from("figure,group,value\n");
        let mut line = |figure: &str, group: &str, value: String| {
            out.push_str(&format!("{figure},{},{value}\n", csv_field(group)));
        };
        line("cases", "all", self.cases.to_string());
        for (s, n) in &self.by_state {
            line("cases_by_state", s.as_str(), n.to_string());
        }
        for (p, n) in &self.by_priority {
            line(
                "cases_by_priority",
                p.map_or("not_triaged", |p| p.as_str()),
                n.to_string(),
            );
        }
        for (o, n) in &self.by_outcome {
            line("cases_by_outcome", o.as_str(), n.to_string());
        }
        for (product, n) in &self.by_product {
            line("cases_by_product", product, n.to_string());
        }
        for (figure, d) in [
            ("hours_to_acknowledge", &self.to_acknowledge),
            ("hours_to_close", &self.to_close),
        ] {
            line(figure, "cases", d.cases.to_string());
            line(figure, "median", d.median.map(hours).unwrap_or_default());
            line(figure, "p90", d.p90.map(hours).unwrap_or_default());
        }
        for (m, f) in &self.months {
            line(
                "acknowledgement_deadlines_met",
                m,
                f.acknowledgement.met.to_string(),
            );
            line(
                "acknowledgement_deadlines_missed",
                m,
                f.acknowledgement.missed.to_string(),
            );
            line("feedback_deadlines_met", m, f.feedback.met.to_string());
            line("feedback_deadlines_missed", m, f.feedback.missed.to_string());
        }
        out
    }
}

/// Seconds as hours with one decimal: `36.5`.
fn hours(secs: i64) -> String {
    format!("{:.1}", secs as f64 / HOUR as f64)
}

/// Seconds as the page says them: days with one decimal.
fn days(secs: i64) -> String {
    format!("{:.1}", secs as f64 / (24 * HOUR) as f64)
}

/// A CSV field: quoted when it holds a comma, quote or line break, and led by `'` when
/// a spreadsheet would take it for a formula. The groups are the application's own
/// names and configured products, but a product list is typed by a person.
fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// One part of a bar: how much, and its kind (`met`, `missed`, or `count`).
#[derive(Debug)]
pub struct Segment {
    pub class: &'static str,
    /// Where it starts and how wide it is, in the chart's units.
    pub x: u32,
    pub width: u32,
}

/// One bar of a chart, with its label and the number shown beside it.
#[derive(Debug)]
pub struct Bar {
    pub label: String,
    pub shown: String,
    pub segments: Vec<Segment>,
    /// Its top, and where it ends, in the chart's units.
    pub y: u32,
    pub end: u32,
}

/// A horizontal bar chart drawn on the server as SVG; the page shows the numbers
/// beside it in a table.
#[derive(Debug)]
pub struct Chart {
    pub id: &'static str,
    pub title: String,
    pub bars: Vec<Bar>,
    pub height: u32,
}

/// Where bars start, how wide the widest is, and each bar's height with its gap.
pub const LABEL_WIDTH: u32 = 260;
pub const BAR_SPACE: u32 = 320;
pub const ROW: u32 = 24;

/// A bar before it is drawn: its label, the number shown beside it, and its parts as
/// `(class, value)`.
type BarData = (String, String, Vec<(&'static str, u64)>);

impl Chart {
    /// A chart of bars made of `(class, value)` parts, scaled so the longest fills the
    /// bar space.
    fn new(id: &'static str, title: String, rows: Vec<BarData>) -> Self {
        let longest = rows
            .iter()
            .map(|(_, _, parts)| parts.iter().map(|(_, v)| v).sum::<u64>())
            .max()
            .unwrap_or(0)
            .max(1);
        let scale = |v: u64| u32::try_from(v * u64::from(BAR_SPACE) / longest).unwrap_or(BAR_SPACE);
        let mut bars = Vec::new();
        for (i, (label, shown, parts)) in rows.into_iter().enumerate() {
            let mut x = LABEL_WIDTH;
            let mut sum = 0;
            let mut segments = Vec::new();
            for (class, value) in parts {
                // Each part ends where the running total ends, so rounding never adds up
                // to more than the total's bar.
                sum += value;
                let end = LABEL_WIDTH + scale(sum);
                segments.push(Segment {
                    class,
                    x,
                    width: end - x,
                });
                x = end;
            }
            bars.push(Bar {
                label,
                shown,
                segments,
                end: x,
                y: u32::try_from(i).unwrap_or(0) * ROW,
            });
        }
        let height = u32::try_from(bars.len()).unwrap_or(0) * ROW;
        Self {
            id,
            title,
            bars,
            height,
        }
    }
}

/// A row of a figure's table: what, and how many (or how long).
#[derive(Debug)]
pub struct Row {
    pub label: String,
    pub values: Vec<String>,
}

/// A figure: its chart and its table.
#[derive(Debug)]
pub struct Figure {
    pub chart: Chart,
    pub columns: Vec<String>,
    pub rows: Vec<Row>,
}

page!(StatisticsPage {
    /// "N cases in all."
    total: String,
    figures: Vec<Figure>,
    chart_width: u32,
}, "statistics.html");

fn counts(id: &'static str, title: String, column: String, items: Vec<(String, u64)>) -> Figure {
    let rows = items
        .iter()
        .map(|(label, n)| Row {
            label: label.clone(),
            values: vec![n.to_string()],
        })
        .collect();
    let bars = items
        .into_iter()
        .map(|(label, n)| (label, n.to_string(), vec![("count", n)]))
        .collect();
    Figure {
        chart: Chart::new(id, title, bars),
        columns: vec![column],
        rows,
    }
}

/// The page's figures, in the catalogue's words.
fn figures_shown(state: &PortalState, f: &Figures) -> Vec<Figure> {
    let t = &state.messages;
    let word = |key: String| t.get(&key).into_owned();
    let cases = word("statistics.cases".into());
    let mut shown = vec![
        counts(
            "by-state",
            word("statistics.by_state".into()),
            cases.clone(),
            f.by_state
                .iter()
                .map(|(s, n)| (word(format!("case_state.{s}")), *n))
                .collect(),
        ),
        counts(
            "by-priority",
            word("statistics.by_priority".into()),
            cases.clone(),
            f.by_priority
                .iter()
                .map(|(p, n)| {
                    let label = p.map_or_else(|| word("statistics.not_triaged".into()), |p| p.to_string());
                    (label, *n)
                })
                .collect(),
        ),
        counts(
            "by-outcome",
            word("statistics.by_outcome".into()),
            cases.clone(),
            f.by_outcome
                .iter()
                .map(|(o, n)| (word(format!("outcome.{o}")), *n))
                .collect(),
        ),
        counts(
            "by-product",
            word("statistics.by_product".into()),
            cases,
            f.by_product.clone(),
        ),
    ];
    // Time to acknowledge and to close: median and 90th percentile, in days.
    let mut rows = Vec::new();
    let mut bars = Vec::new();
    for (key, d) in [
        ("statistics.to_acknowledge", &f.to_acknowledge),
        ("statistics.to_close", &f.to_close),
    ] {
        let label = word(key.into());
        let said = |v: Option<i64>| v.map_or_else(|| "–".to_owned(), days);
        rows.push(Row {
            label: label.clone(),
            values: vec![d.cases.to_string(), said(d.median), said(d.p90)],
        });
        for (which, v) in [("statistics.median", d.median), ("statistics.p90", d.p90)] {
            let secs = u64::try_from(v.unwrap_or(0)).unwrap_or(0);
            bars.push((
                format!("{label}, {}", word(which.into())),
                said(v),
                vec![("count", secs)],
            ));
        }
    }
    shown.push(Figure {
        chart: Chart::new("durations", word("statistics.durations".into()), bars),
        columns: vec![
            word("statistics.reached".into()),
            word("statistics.median_days".into()),
            word("statistics.p90_days".into()),
        ],
        rows,
    });
    // Deadlines by month: met and missed, each kind a chart of its own.
    for (id, key, pick) in [
        (
            "acknowledgement-deadlines",
            "statistics.acknowledgement_deadlines",
            (|m: &MonthFigures| m.acknowledgement) as fn(&MonthFigures) -> MetMissed,
        ),
        (
            "feedback-deadlines",
            "statistics.feedback_deadlines",
            |m: &MonthFigures| m.feedback,
        ),
    ] {
        let months: Vec<(&String, MetMissed)> = f
            .months
            .iter()
            .map(|(m, figures)| (m, pick(figures)))
            .filter(|(_, mm)| *mm != MetMissed::default())
            .collect();
        let rows = months
            .iter()
            .map(|(m, mm)| Row {
                label: (*m).clone(),
                values: vec![mm.met.to_string(), mm.missed.to_string()],
            })
            .collect();
        let bars = months
            .iter()
            .map(|(m, mm)| {
                (
                    (*m).clone(),
                    format!("{} / {}", mm.met, mm.missed),
                    vec![("met", mm.met), ("missed", mm.missed)],
                )
            })
            .collect();
        shown.push(Figure {
            chart: Chart::new(id, word(key.into()), bars),
            columns: vec![word("statistics.met".into()), word("statistics.missed".into())],
            rows,
        });
    }
    shown
}

async fn count_now(state: &PortalState) -> Result<Figures, redress_store::StoreError> {
    let cases = state.store.case_figures().await?;
    let products = state.store.product_counts().await?;
    Ok(Figures::count(&cases, products, state.now()))
}

/// `GET /statistics`: the figures as charts and tables.
pub async fn show(req: HttpRequest, state: web::Data<PortalState>, viewer: Viewer) -> HttpResponse {
    answer(&state, show_inner(&req, &state, &viewer).await)
}

async fn show_inner(req: &HttpRequest, state: &PortalState, viewer: &Viewer) -> Answer {
    let f = count_now(state).await?;
    let page = StatisticsPage {
        chrome: Chrome::new(state, req, Some(viewer), "statistics.title"),
        total: state
            .messages
            .fill("statistics.total", &[("n", &f.cases.to_string())]),
        figures: figures_shown(state, &f),
        chart_width: LABEL_WIDTH + BAR_SPACE + 80,
    };
    Ok(page.chrome.respond(StatusCode::OK, &page))
}

/// `GET /statistics.csv`: the same figures as CSV, to download.
pub async fn csv(state: web::Data<PortalState>) -> HttpResponse {
    answer(&state, csv_inner(&state).await)
}

async fn csv_inner(state: &PortalState) -> Answer {
    let f = count_now(state).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"redress-statistics.csv\"",
        ))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(f.csv()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400;

    #[test]
    fn percentiles_are_times_some_case_took() {
        assert_eq!(percentile(&[], 50), None);
        assert_eq!(percentile(&[7], 90), Some(7));
        assert_eq!(percentile(&[1, 2, 3, 4], 50), Some(2));
        let ten: Vec<i64> = (1..=10).collect();
        assert_eq!(percentile(&ten, 50), Some(5));
        assert_eq!(percentile(&ten, 90), Some(9));
        let eleven: Vec<i64> = (1..=11).collect();
        assert_eq!(percentile(&eleven, 90), Some(10));
        assert_eq!(percentile(&eleven, 100), Some(11));
    }

    #[test]
    fn months_are_utc() {
        assert_eq!(month(0), "1970-01");
        assert_eq!(month(1_798_761_599), "2026-12");
        assert_eq!(month(1_798_761_600), "2027-01");
    }

    fn case(state: CaseState) -> CaseFigures {
        CaseFigures {
            state,
            priority: Some(Priority::P2),
            outcome: None,
            received_at: 0,
            ack_due: Some(7 * DAY),
            acknowledged_at: None,
            feedback_due: None,
            feedback_given_at: None,
            closed_at: None,
        }
    }

    #[test]
    fn deadlines_count_as_met_missed_or_not_yet() {
        let now = 40 * DAY;
        let in_time = CaseFigures {
            acknowledged_at: Some(2 * DAY),
            feedback_due: Some(2 * DAY + 90 * DAY),
            ..case(CaseState::Acknowledged)
        };
        let late = CaseFigures {
            acknowledged_at: Some(9 * DAY),
            feedback_due: Some(9 * DAY + 90 * DAY),
            ..case(CaseState::Acknowledged)
        };
        let never = case(CaseState::Received);
        let ahead = CaseFigures {
            received_at: 38 * DAY,
            ack_due: Some(45 * DAY),
            ..case(CaseState::Received)
        };
        // Given feedback, then reopened: the new deadline is not met by the old feedback.
        let reopened = CaseFigures {
            acknowledged_at: Some(DAY),
            feedback_due: Some(30 * DAY),
            feedback_given_at: Some(10 * DAY),
            ..case(CaseState::Investigating)
        };
        let f = Figures::count(&[in_time, late, never, ahead, reopened], Vec::new(), now);
        let january = &f.months["1970-01"];
        assert_eq!(january.acknowledgement, MetMissed { met: 2, missed: 2 });
        assert_eq!(january.feedback, MetMissed { met: 0, missed: 1 });
        // February: the ack deadline still ahead counts for nothing; April's feedback
        // deadlines are ahead too.
        assert!(!f.months.contains_key("1970-02"));
        assert_eq!(f.months.len(), 1);
        assert_eq!(f.to_acknowledge.cases, 3);
        assert_eq!(f.to_acknowledge.median, Some(2 * DAY));
        assert_eq!(f.to_acknowledge.p90, Some(9 * DAY));
        assert_eq!(f.to_close, Durations::default());
    }

    #[test]
    fn csv_keeps_formulas_and_commas_out() {
        let f = Figures::count(&[], vec![("=HYPERLINK(1)".into(), 2), ("a,b".into(), 1)], 0);
        let csv = f.csv();
        assert!(csv.starts_with("figure,group,value\ncases,all,0\n"), "{csv}");
        assert!(csv.contains("\ncases_by_product,'=HYPERLINK(1),2\n"), "{csv}");
        assert!(csv.contains("\ncases_by_product,\"a,b\",1\n"), "{csv}");
        assert!(csv.contains("\nhours_to_acknowledge,median,\n"), "{csv}");
    }

    #[test]
    fn bars_scale_to_the_longest_and_parts_add_up() {
        let chart = Chart::new(
            "x",
            "x".into(),
            vec![
                ("a".into(), "3".into(), vec![("met", 2), ("missed", 1)]),
                ("b".into(), "1".into(), vec![("count", 1)]),
                ("c".into(), "0".into(), vec![("count", 0)]),
            ],
        );
        let a = &chart.bars[0].segments;
        assert_eq!(a[0].x, LABEL_WIDTH);
        assert_eq!(a[1].x + a[1].width, LABEL_WIDTH + BAR_SPACE);
        assert_eq!(chart.bars[1].segments[0].width, BAR_SPACE / 3);
        assert_eq!(chart.bars[2].segments[0].width, 0);
        assert_eq!(chart.height, 3 * ROW);
    }
}
