//! `vizora timeline-bench`: what evaluating the schedule rule costs for a
//! fleet. It builds a synthetic organization in memory (displays in groups
//! across zones with DST, schedules of every recurrence, a takeover) and
//! times `model::timeline` over 48 hours for every display, twice: with the
//! schedules that reach each display (what the server reads for a manifest)
//! and with all of them (what the browser's week view passes).

use std::time::Instant;

use chrono::NaiveDate;

use crate::model::{
    timeline, Plan, Recurrence, Schedule, ScheduleSpec, Screen, Takeover, TimeOfDay, Weekday,
    Window,
};

pub struct BenchArgs {
    pub displays: usize,
    pub schedules: usize,
    pub groups: usize,
    pub hours: i64,
}

const ZONES: [&str; 8] = [
    "Europe/Berlin",
    "Europe/London",
    "America/New_York",
    "America/Los_Angeles",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Asia/Kathmandu",
    "Pacific/Auckland",
];

/// A small deterministic generator, so every run measures the same plan.
struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

fn plan(args: &BenchArgs, rng: &mut Rng) -> Vec<Schedule> {
    (0..args.schedules)
        .map(|i| {
            let recurrence = match rng.below(4) {
                0 => Recurrence::Day,
                1 => Recurrence::Week {
                    weekdays: vec![
                        Weekday::ALL[rng.below(7) as usize],
                        Weekday::ALL[rng.below(7) as usize],
                    ],
                },
                2 => Recurrence::Month {
                    day: Some(1 + rng.below(28) as u32),
                    nth: None,
                    weekday: None,
                },
                _ => Recurrence::Month {
                    day: None,
                    nth: Some(1 + rng.below(4) as i32),
                    weekday: Some(Weekday::ALL[rng.below(7) as usize]),
                },
            };
            let start = rng.below(96) as u16 * 15;
            let window = (rng.below(5) > 0).then(|| Window {
                start: TimeOfDay(start),
                end: TimeOfDay((start + 60 + rng.below(600) as u16) % 1440),
            });
            let for_display = rng.below(10) == 0;
            Schedule {
                id: format!("s{i}"),
                spec: ScheduleSpec {
                    name: format!("Schedule {i}"),
                    playlist_id: format!("p{}", rng.below(40)),
                    device_id: for_display.then(|| format!("d{}", rng.below(args.displays as u64))),
                    group_id: (!for_display).then(|| format!("g{}", rng.below(args.groups as u64))),
                    starts_on: NaiveDate::from_ymd_opt(2027, 1, 1).unwrap_or_default(),
                    ends_on: None,
                    recurrence,
                    except: vec![],
                    window,
                    daypart_id: None,
                    priority: rng.below(5) as i32,
                    enabled: true,
                },
                created_at: i as i64,
                version: 1,
            }
        })
        .collect()
}

pub fn run(args: BenchArgs) -> Result<(), String> {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let schedules = plan(&args, &mut rng);
    // Across the spring-forward weekend in Europe (2027-03-28).
    let from = chrono::DateTime::parse_from_rfc3339("2027-03-27T00:00:00Z")
        .map_err(|e| e.to_string())?
        .timestamp_millis();
    let to = from + args.hours * 3_600_000;
    let takeovers = [Takeover {
        id: "t".into(),
        name: "Drill".into(),
        playlist_id: "alarm".into(),
        group_id: Some("g0".into()),
        starts_at: from + 3_600_000,
        ends_at: Some(from + 2 * 3_600_000),
        ended_at: None,
        version: 1,
    }];
    let ids: Vec<(String, String)> = (0..args.displays)
        .map(|i| (format!("d{i}"), format!("g{}", i % args.groups.max(1))))
        .collect();
    let screens: Vec<Screen<'_>> = ids
        .iter()
        .enumerate()
        .map(|(i, (d, g))| Screen {
            device_id: d,
            group_id: Some(g),
            timezone: ZONES[i % ZONES.len()],
            own_default: None,
            group_default: Some("default"),
        })
        .collect();
    println!(
        "timeline-bench: {} displays in {} groups, {} schedules, {} hours from 2027-03-27T00:00Z",
        args.displays, args.groups, args.schedules, args.hours
    );
    // Reached: what the server reads for one display's manifest.
    let started = Instant::now();
    let mut segments = 0usize;
    for screen in &screens {
        let reach: Vec<Schedule> = schedules
            .iter()
            .filter(|s| s.spec.targets(screen.device_id, screen.group_id))
            .cloned()
            .collect();
        let plan = Plan {
            schedules: &reach,
            dayparts: &[],
            takeovers: &takeovers,
        };
        segments += timeline(screen, plan, from, to).len();
    }
    let reached = started.elapsed();
    // All: what the browser's week view hands the rule for each row.
    let started = Instant::now();
    let plan = Plan {
        schedules: &schedules,
        dayparts: &[],
        takeovers: &takeovers,
    };
    let mut all_segments = 0usize;
    for screen in &screens {
        all_segments += timeline(screen, plan, from, to).len();
    }
    let all = started.elapsed();
    if all_segments != segments {
        return Err(format!(
            "the two ways disagree: {segments} segments against {all_segments}"
        ));
    }
    let per = |d: std::time::Duration| d.as_secs_f64() * 1e6 / args.displays.max(1) as f64;
    println!(
        "  reached schedules only: {:.1} ms in all, {:.1} µs per display, {} segments",
        reached.as_secs_f64() * 1e3,
        per(reached),
        segments
    );
    println!(
        "  every schedule passed:  {:.1} ms in all, {:.1} µs per display",
        all.as_secs_f64() * 1e3,
        per(all)
    );
    Ok(())
}
