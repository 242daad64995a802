//! Draws an [`App`] with ratatui, into a terminal or (in tests) a buffer.
//!
//! The screen, top to bottom:
//!
//! ```text
//!  1:(status)  2:#rust+  [3:bob]  4:carol*          <- window list: [active], + new messages,
//! 12:00 <bob> hi                                        * private message or mention, - news
//! 12:01 [OTR] Private conversation with bob started.
//! ...                                               <- the active window's scrollback
//! [alice] [3:bob] [OTR: unverified]                 <- status line: nick, window, OTR state
//! [bob] text being typed_                           <- input line
//! ```
//!
//! The OTR state reads as in irssi-otr's status bar: `plaintext`, `unverified`, `private`,
//! `finished`, and `starting` while a key exchange runs; a channel window says that it is
//! public.

use ratatui::buffer::Buffer;
use ratatui::layout::{Position, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line as TextLine, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;
use unicode_width::UnicodeWidthChar;

use group::SecurityLevel;

use super::app::{
    level_name, Activity, App, Delivery, LineKind, OtrStatus, SmpStatus, Window, WindowKind,
};

/// The rows the scrollback gets on a screen `height` rows high.
pub fn scrollback_height(height: u16) -> usize {
    usize::from(height.saturating_sub(3))
}

/// Draws the whole screen.
pub fn draw(frame: &mut Frame<'_>, app: &App) {
    let area = frame.area();
    if area.height < 4 || area.width < 10 {
        frame.render_widget(Paragraph::new("offrecord: window too small"), area);
        return;
    }
    let rows = |y: u16, h: u16| Rect::new(area.x, area.y + y, area.width, h);
    let body_height = area.height - 3;
    frame.render_widget(window_list(app), rows(0, 1));
    frame.render_widget(
        scrollback(
            app.active_window(),
            usize::from(area.width),
            usize::from(body_height),
        ),
        rows(1, body_height),
    );
    frame.render_widget(status_line(app), rows(area.height - 2, 1));
    let (input, cursor_x) = input_line(app, area.width);
    frame.render_widget(input, rows(area.height - 1, 1));
    frame.set_cursor_position(Position::new(area.x + cursor_x, area.y + area.height - 1));
}

/// Draws a progress screen (key generation, connecting) with a spinner at step `step`.
pub fn draw_progress(frame: &mut Frame<'_>, message: &str, step: usize) {
    const SPINNER: [char; 4] = ['|', '/', '-', '\\'];
    let area = frame.area();
    let spin = SPINNER[step % SPINNER.len()];
    let lines = vec![
        TextLine::from(""),
        TextLine::from(format!(" {spin} {message}")),
        TextLine::from(""),
        TextLine::from(" (this takes a few seconds; Ctrl-C to stop)"),
    ];
    frame.render_widget(Paragraph::new(lines), area);
}

/// The window list: every window as `N:name`, the active one in brackets, with a mark for
/// activity (`+` messages, `*` a private message or our nick, `-` news).
fn window_list(app: &App) -> Paragraph<'static> {
    let mut spans = Vec::new();
    for (i, w) in app.windows().iter().enumerate() {
        let active = i == app.active();
        let mark = match w.activity() {
            Activity::None => "",
            Activity::Info => "-",
            Activity::Message => "+",
            Activity::Highlight => "*",
        };
        let label = if active {
            format!("[{}:{}]", i + 1, w.name())
        } else {
            format!("{}:{}{mark}", i + 1, w.name())
        };
        let style = if active {
            Style::new().add_modifier(Modifier::BOLD)
        } else {
            match w.activity() {
                Activity::Highlight => Style::new().fg(Color::LightMagenta),
                Activity::Message => Style::new().fg(Color::White),
                Activity::Info | Activity::None => Style::new().fg(Color::Gray),
            }
        };
        spans.push(Span::raw(" "));
        spans.push(Span::styled(label, style));
    }
    Paragraph::new(TextLine::from(spans)).style(Style::new().bg(Color::Blue).fg(Color::White))
}

/// The lines a window shows in `height` rows of `width` columns: wrapped, the last ones
/// (less the scroll offset).
fn scrollback(window: &Window, width: usize, height: usize) -> Paragraph<'static> {
    let lines: Vec<_> = window.lines().collect();
    let mut end = lines.len().saturating_sub(window.scroll());
    // When scrolled up, the last row says how much is below.
    let height = if window.scroll() > 0 {
        height.saturating_sub(1)
    } else {
        height
    };
    let rows_of = |i: usize| -> Vec<TextLine<'static>> {
        let style = line_style(&lines[i].kind);
        wrap(&lines[i].render(), width)
            .into_iter()
            .map(|row| TextLine::from(Span::styled(row, style)))
            .collect()
    };
    let mut rows: Vec<TextLine<'static>> = Vec::new();
    // Walk back from the last visible line until the rows are filled.
    let mut start = end;
    while start > 0 && rows.len() < height {
        start -= 1;
        let mut wrapped = rows_of(start);
        wrapped.append(&mut rows);
        rows = wrapped;
    }
    // Scrolled to the very top: fill the view downwards instead.
    let mut filled_down = false;
    while rows.len() < height && end < lines.len() && window.scroll() > 0 {
        rows.extend(rows_of(end));
        end += 1;
        filled_down = true;
    }
    let skip = if filled_down {
        0
    } else {
        rows.len().saturating_sub(height)
    };
    let mut rows: Vec<TextLine<'static>> = rows.into_iter().skip(skip).take(height).collect();
    if window.scroll() > 0 {
        rows.push(TextLine::from(Span::styled(
            format!("-- more below: {} line(s), PageDown --", lines.len() - end),
            Style::new().add_modifier(Modifier::REVERSED),
        )));
    }
    Paragraph::new(rows)
}

/// Splits `text` into rows of at most `width` columns, at spaces where possible; rows after
/// the first are indented past the timestamp.
fn wrap(text: &str, width: usize) -> Vec<String> {
    const INDENT: usize = 6;
    let width = width.max(INDENT + 8);
    let mut rows: Vec<String> = Vec::new();
    let mut row = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > width {
            // Move the last word to the next row when the row has a space to break at.
            let break_at = row
                .rfind(' ')
                .filter(|&i| i > INDENT && row[..i].chars().any(|c| c != ' '));
            let carried = match break_at {
                Some(i) => {
                    let tail = row[i + 1..].to_owned();
                    row.truncate(i);
                    tail
                }
                None => String::new(),
            };
            rows.push(std::mem::take(&mut row));
            row = " ".repeat(INDENT);
            row.push_str(&carried);
            used = INDENT
                + carried
                    .chars()
                    .map(|c| c.width().unwrap_or(0))
                    .sum::<usize>();
        }
        row.push(c);
        used += w;
    }
    rows.push(row);
    rows
}

fn line_style(kind: &LineKind) -> Style {
    match kind {
        // Only the host vouches for the sender: the `[host vouches]` line stands out.
        // From a key other than the window's: it may be an impostor.
        LineKind::Message {
            other_key: Some(_), ..
        } => Style::new().fg(Color::Red),
        LineKind::Message { vouched: true, .. } => Style::new().fg(Color::Yellow),
        LineKind::Message { .. } | LineKind::Output => Style::new(),
        LineKind::Own { delivery, .. } => match delivery {
            Delivery::Held => Style::new().fg(Color::Yellow),
            Delivery::NotSent => Style::new().fg(Color::Red),
            Delivery::Private | Delivery::Plain | Delivery::Channel => Style::new().fg(Color::Cyan),
        },
        LineKind::Info => Style::new().fg(Color::DarkGray),
        LineKind::Otr => Style::new().fg(Color::Green),
        LineKind::Error => Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
    }
}

/// The words the status line shows for a window's OTR state.
pub fn otr_label(window: &Window) -> String {
    match window.kind() {
        WindowKind::Query => format!("OTR: {}", window.otr().as_str()),
        WindowKind::Channel => "public channel, not OTR".to_owned(),
        WindowKind::Status => String::new(),
        WindowKind::Room => match window.room_info() {
            Some(info) => format!(
                "room: {}, host {}, {} member(s)",
                level_name(info.level),
                info.host,
                window.members().count()
            ),
            None => "room: not joined".to_owned(),
        },
    }
}

fn room_style(window: &Window) -> Style {
    match window.room_info().map(|i| i.level) {
        Some(SecurityLevel::Private) => Style::new()
            .fg(Color::LightGreen)
            .add_modifier(Modifier::BOLD),
        _ => Style::new().fg(Color::LightRed),
    }
}

fn otr_style(status: OtrStatus) -> Style {
    match status {
        OtrStatus::Private => Style::new()
            .fg(Color::LightGreen)
            .add_modifier(Modifier::BOLD),
        OtrStatus::Unverified => Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
        OtrStatus::Starting => Style::new().fg(Color::Yellow),
        OtrStatus::Finished | OtrStatus::Plaintext => Style::new().fg(Color::LightRed),
    }
}

/// `[nick] [N:window] [OTR: state] [held: n] [SMP: ...] [connection]`.
fn status_line(app: &App) -> Paragraph<'static> {
    let w = app.active_window();
    let mut spans = vec![
        Span::raw(format!("[{}] ", app.nick())),
        Span::raw(format!("[{}:{}]", app.active() + 1, w.name())),
    ];
    let label = otr_label(w);
    if !label.is_empty() {
        let style = match w.kind() {
            WindowKind::Query => otr_style(w.otr()),
            WindowKind::Room => room_style(w),
            _ => Style::new(),
        };
        spans.push(Span::raw(" ["));
        spans.push(Span::styled(label, style));
        spans.push(Span::raw("]"));
    }
    let held = app.held(w);
    if held > 0 {
        spans.push(Span::raw(format!(" [held: {held}]")));
    }
    match w.smp() {
        SmpStatus::Asked => spans.push(Span::raw(" [SMP: waiting for answer]")),
        SmpStatus::Requested(_) => spans.push(Span::raw(" [SMP: /otr auth to answer]")),
        SmpStatus::Idle | SmpStatus::Answered { .. } => {}
    }
    if !app.is_connected() {
        spans.push(Span::raw(format!(" [{}]", app.connection())));
    }
    Paragraph::new(TextLine::from(spans)).style(Style::new().bg(Color::Blue).fg(Color::White))
}

/// The input line and the cursor's column: `[window] text`, scrolled horizontally so the
/// cursor stays visible.
fn input_line(app: &App, width: u16) -> (Paragraph<'static>, u16) {
    let prompt = format!("[{}] ", app.active_window().name());
    let input: Vec<char> = app.input().chars().collect();
    let cursor = app.cursor().min(input.len());
    let prompt_width = prompt.chars().count();
    let room = usize::from(width).saturating_sub(prompt_width + 1).max(1);
    let start = cursor.saturating_sub(room);
    let shown: String = input.iter().skip(start).take(room).collect();
    let column = prompt_width + cursor.saturating_sub(start);
    let x = u16::try_from(column).unwrap_or(width.saturating_sub(1));
    (
        Paragraph::new(format!("{prompt}{shown}")),
        x.min(width.saturating_sub(1)),
    )
}

/// The text of a rendered buffer, one string per row, trailing spaces removed (for tests).
pub fn buffer_text(buffer: &Buffer) -> Vec<String> {
    let area = buffer.area;
    (area.y..area.y + area.height)
        .map(|y| {
            let mut row = String::new();
            let mut x = area.x;
            while x < area.x + area.width {
                let symbol = buffer.cell((x, y)).map_or(" ", |c| c.symbol());
                row.push_str(symbol);
                x += 1;
            }
            row.trim_end().to_owned()
        })
        .collect()
}
