//! `fleet --report DIR`: every row of the run in `DIR/fleet.md`, and the
//! ramp plotted per server in `DIR/fleet-ramp.svg` (p99 fan-out latency
//! against clients in one session, log scale; a point with deliveries
//! missing past the drain is hollow and labelled with the share missing).

use super::{Args, Outcome};
use anyhow::{Context, Result};
use std::fmt::Write as _;
use std::path::Path;

pub(super) fn write(dir: &Path, args: &Args, rows: &[Outcome]) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut md = String::new();
    let _ = writeln!(
        md,
        "`tavolo-bench fleet` — servers {}, {} s per scenario, {} notes per client per second, board of {} notes × {} moves, {} writers\n",
        args.servers.join(", "),
        args.seconds,
        args.rate,
        args.board_notes,
        args.board_edits,
        args.writers
    );
    let _ = writeln!(md, "{}", Outcome::HEADER);
    for o in rows {
        let _ = writeln!(md, "{}", o.row());
    }
    std::fs::write(dir.join("fleet.md"), md)?;
    let ramp: Vec<&Outcome> = rows
        .iter()
        .filter(|o| o.scenario.starts_with("ramp ") && o.deliveries > 0)
        .collect();
    if !ramp.is_empty() {
        std::fs::write(dir.join("fleet-ramp.svg"), plot(&ramp))?;
    }
    eprintln!("report written to {}", dir.display());
    Ok(())
}

/// Plots the ramp again from the rows of an earlier run's `DIR/fleet.md`
/// (`fleet --replot --report DIR`), as `write` would have.
pub(super) fn replot(dir: &Path) -> Result<()> {
    let md = std::fs::read_to_string(dir.join("fleet.md"))
        .with_context(|| format!("reading {}", dir.join("fleet.md").display()))?;
    let mut rows = Vec::new();
    for line in md.lines().filter(|l| l.starts_with("| ")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        // "", server, scenario, thin, full, board, changes/s, changes,
        // deliveries, missing, p50, p99, …
        let (Some(thin), Some(deliveries), Some(missing), Some(p99)) = (
            cells.get(3).and_then(|c| c.parse().ok()),
            cells.get(8).and_then(|c| c.parse().ok()),
            cells.get(9).and_then(|c| c.parse().ok()),
            cells.get(11).and_then(|c| c.parse::<f64>().ok()),
        ) else {
            continue;
        };
        rows.push(Outcome {
            server: cells[1].to_string(),
            scenario: cells[2].to_string(),
            thin,
            deliveries,
            missing,
            p99: (p99 * 1e3) as u64,
            ..Outcome::default()
        });
    }
    let ramp: Vec<&Outcome> = rows
        .iter()
        .filter(|o| o.scenario.starts_with("ramp ") && o.deliveries > 0)
        .collect();
    std::fs::write(dir.join("fleet-ramp.svg"), plot(&ramp))?;
    Ok(())
}

const W: f64 = 760.0;
const H: f64 = 420.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 30.0;
const TOP: f64 = 64.0;
const BOTTOM: f64 = 60.0;
const COLOURS: [&str; 4] = ["#1b6ca8", "#c0392b", "#2e7d32", "#8e44ad"];

/// p99 (ms, log scale from 1 ms to the worst, at least 10 s) against
/// clients (linear), one line per server.
fn plot(rows: &[&Outcome]) -> String {
    let max_clients = rows.iter().map(|o| o.thin).max().unwrap_or(1).max(1) as f64;
    let worst_ms = rows
        .iter()
        .map(|o| o.p99 as f64 / 1e3)
        .fold(10_000.0_f64, f64::max);
    let (lo, hi) = (0.0_f64, worst_ms.log10().ceil());
    let x = |c: f64| LEFT + (W - LEFT - RIGHT) * c / max_clients;
    let y = |ms: f64| {
        let v = ms.max(1.0).log10();
        TOP + (H - TOP - BOTTOM) * (1.0 - (v - lo) / (hi - lo))
    };
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">"##
    );
    let _ = writeln!(svg, r##"<rect width="100%" height="100%" fill="#fff"/>"##);
    let _ = writeln!(
        svg,
        r##"<text x="{LEFT}" y="22" font-size="14" font-weight="bold">Fan-out p99 in one session, by clients connected</text>"##
    );
    // Axes, decades and client ticks.
    for d in 0..=hi as i32 {
        let ms = 10f64.powi(d);
        let yy = y(ms);
        let label = if ms >= 1000.0 {
            format!("{} s", ms / 1000.0)
        } else {
            format!("{ms} ms")
        };
        let _ = writeln!(
            svg,
            r##"<line x1="{LEFT}" x2="{}" y1="{yy:.1}" y2="{yy:.1}" stroke="#ddd"/><text x="{}" y="{:.1}" text-anchor="end">{label}</text>"##,
            W - RIGHT,
            LEFT - 6.0,
            yy + 4.0
        );
    }
    let mut ticks: Vec<usize> = rows.iter().map(|o| o.thin).collect();
    ticks.sort_unstable();
    ticks.dedup();
    for c in ticks {
        let xx = x(c as f64);
        let _ = writeln!(
            svg,
            r##"<line x1="{xx:.1}" x2="{xx:.1}" y1="{TOP}" y2="{}" stroke="#eee"/><text x="{xx:.1}" y="{}" text-anchor="middle">{c}</text>"##,
            H - BOTTOM,
            H - BOTTOM + 18.0
        );
    }
    let _ = writeln!(
        svg,
        r##"<text x="{}" y="{}" text-anchor="middle">clients in the session (thin, plus the writers)</text>"##,
        LEFT + (W - LEFT - RIGHT) / 2.0,
        H - 16.0
    );
    let mut servers: Vec<&str> = rows.iter().map(|o| o.server.as_str()).collect();
    servers.dedup();
    for (i, server) in servers.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let mut pts: Vec<&&Outcome> = rows.iter().filter(|o| o.server == *server).collect();
        pts.sort_by_key(|o| o.thin);
        let line: Vec<String> = pts
            .iter()
            .map(|o| format!("{:.1},{:.1}", x(o.thin as f64), y(o.p99 as f64 / 1e3)))
            .collect();
        let _ = writeln!(
            svg,
            r##"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="2"/>"##,
            line.join(" ")
        );
        for o in &pts {
            let (xx, yy) = (x(o.thin as f64), y(o.p99 as f64 / 1e3));
            let expected = o.deliveries + o.missing;
            let missing = if expected > 0 {
                100.0 * o.missing as f64 / expected as f64
            } else {
                0.0
            };
            let fill = if o.missing > 0 { "#fff" } else { colour };
            let _ = writeln!(
                svg,
                r##"<circle cx="{xx:.1}" cy="{yy:.1}" r="4" fill="{fill}" stroke="{colour}" stroke-width="2"/>"##
            );
            let ms = o.p99 as f64 / 1e3;
            let label = if ms >= 1000.0 {
                format!("{:.1} s", ms / 1000.0)
            } else {
                format!("{ms:.0} ms")
            };
            let label = if o.missing > 0 {
                format!("{label}, {missing:.0}% missing")
            } else {
                label
            };
            // Labels of the rightmost points go to their left.
            let (lx, anchor) = if o.thin as f64 >= max_clients {
                (xx - 8.0, "end")
            } else {
                (xx + 6.0, "start")
            };
            let _ = writeln!(
                svg,
                r##"<text x="{lx:.1}" y="{:.1}" fill="{colour}" font-size="11" text-anchor="{anchor}">{label}</text>"##,
                yy - 6.0 + 14.0 * i as f64
            );
        }
        // The legend, in a row under the title.
        let lx = LEFT + 150.0 * i as f64;
        let _ = writeln!(
            svg,
            r##"<line x1="{lx}" x2="{}" y1="40" y2="40" stroke="{colour}" stroke-width="3"/><text x="{}" y="44">{server}</text>"##,
            lx + 25.0,
            lx + 31.0
        );
    }
    let _ = writeln!(
        svg,
        r##"<text x="{}" y="44" font-size="11" fill="#555">hollow: deliveries missing after the drain</text>"##,
        LEFT + 150.0 * servers.len() as f64
    );
    svg.push_str("</svg>\n");
    svg
}
