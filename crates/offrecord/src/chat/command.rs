//! The chat client's commands, as data: one table names each command with its aliases, and
//! one says how `/help` presents them, so the help can never list a command that does not
//! exist. Parsing is pure (no window, no engine): [`parse`] resolves `/name args`,
//! [`parse_otr`] and [`parse_group`] the subcommands; the app decides what a command means
//! in the active window.

/// A top-level command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Name {
    /// `/help`.
    Help,
    /// `/join #channel`.
    Join,
    /// `/part [#channel] [reason]`.
    Part,
    /// `/close`.
    Close,
    /// `/query NICK`.
    Query,
    /// `/msg NICK|#channel TEXT`.
    Msg,
    /// `/nick NEWNICK`.
    Nick,
    /// `/quit [reason]`.
    Quit,
    /// `/clear`.
    Clear,
    /// `/otr ...`.
    Otr,
    /// `/group ...` (or `/room ...`).
    Group,
}

/// An `/otr` subcommand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtrName {
    /// `/otr` or `/otr help`.
    Help,
    /// `/otr info`.
    Info,
    /// `/otr policy [manual|opportunistic|always]`.
    Policy,
    /// `/otr init`.
    Init,
    /// `/otr finish`.
    Finish,
    /// `/otr trust`.
    Trust,
    /// `/otr distrust`.
    Distrust,
    /// `/otr auth SECRET`.
    Auth,
    /// `/otr authq QUESTION SECRET`.
    AuthQ,
    /// `/otr abort`.
    Abort,
}

/// A `/group` subcommand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupName {
    /// `/group host [#channel]`.
    Host,
    /// `/group invite NICK`.
    Invite,
    /// `/group thin NICK`.
    Thin,
    /// `/group kick NICK`.
    Kick,
    /// `/group join`.
    Join,
    /// `/group leave`.
    Leave,
    /// `/group roster`.
    Roster,
}

/// Every name and alias a command answers to.
const NAMES: &[(&str, Name)] = &[
    ("help", Name::Help),
    ("join", Name::Join),
    ("j", Name::Join),
    ("part", Name::Part),
    ("leave", Name::Part),
    ("close", Name::Close),
    ("wc", Name::Close),
    ("query", Name::Query),
    ("q", Name::Query),
    ("msg", Name::Msg),
    ("m", Name::Msg),
    ("nick", Name::Nick),
    ("quit", Name::Quit),
    ("exit", Name::Quit),
    ("clear", Name::Clear),
    ("otr", Name::Otr),
    ("group", Name::Group),
    ("room", Name::Group),
];

const OTR_NAMES: &[(&str, OtrName)] = &[
    ("", OtrName::Help),
    ("help", OtrName::Help),
    ("info", OtrName::Info),
    ("policy", OtrName::Policy),
    ("init", OtrName::Init),
    ("start", OtrName::Init),
    ("finish", OtrName::Finish),
    ("end", OtrName::Finish),
    ("trust", OtrName::Trust),
    ("distrust", OtrName::Distrust),
    ("auth", OtrName::Auth),
    ("authq", OtrName::AuthQ),
    ("abort", OtrName::Abort),
    ("authabort", OtrName::Abort),
];

const GROUP_NAMES: &[(&str, GroupName)] = &[
    ("host", GroupName::Host),
    ("create", GroupName::Host),
    ("invite", GroupName::Invite),
    ("thin", GroupName::Thin),
    ("invite-thin", GroupName::Thin),
    ("kick", GroupName::Kick),
    ("join", GroupName::Join),
    ("accept", GroupName::Join),
    ("leave", GroupName::Leave),
    ("decline", GroupName::Leave),
    ("roster", GroupName::Roster),
    ("who", GroupName::Roster),
];

/// How `/help` presents the commands: (usage, what it does), in order.
const HELP_ROWS: &[(&str, &str)] = &[
    (
        "/join #channel",
        "join a channel (public: channels are never OTR)",
    ),
    ("/part [#chan] [why]", "leave a channel"),
    ("/query NICK", "open a private conversation window"),
    ("/msg NICK|#chan TEXT", "send one message"),
    ("/nick NEWNICK", "change your nick"),
    ("/close, /clear", "close or clear this window"),
    ("/quit [reason]", "end private conversations and quit"),
    (
        "/otr init",
        "start a private conversation (in a query window)",
    ),
    ("/otr finish", "end it"),
    (
        "/otr trust|distrust",
        "mark the peer's fingerprint verified or not",
    ),
    (
        "/otr auth SECRET",
        "verify the peer with a shared secret (or answer)",
    ),
    ("/otr authq QUESTION SECRET", "the same, asking a question"),
    ("/otr abort", "abort a verification"),
    ("/otr info", "your fingerprint and the peer's"),
    (
        "/otr policy [manual|opportunistic|always]",
        "show or set the policy",
    ),
    (
        "/group host",
        "open a private room (window room:ID) that you host",
    ),
    (
        "/group host #chan",
        "the same, its lines tagged in #chan (paper design)",
    ),
    (
        "/group invite|kick NICK",
        "(host) invite over OTR, or remove",
    ),
    (
        "/group thin NICK",
        "(host) invite a stock OTR client (irssi, Pidgin)",
    ),
    (
        "/group join|leave",
        "accept an invitation; leave (or decline)",
    ),
    ("/group roster", "the host and members, with fingerprints"),
];

/// The keys, after the commands in `/help`.
const HELP_KEYS: &str = "Keys: Alt-1..9, Ctrl-N/P: windows; PageUp/Down: scroll; Up/Down: history";

/// The usage `/group` answers with when the subcommand is missing or unknown.
pub const GROUP_USAGE: &str =
    "/group host | invite NICK | thin NICK | kick NICK | join | leave | roster";

/// `/help`: a title, one line per row of [`HELP_ROWS`], the keys.
pub fn help() -> Vec<String> {
    let mut lines = vec!["Commands:".to_owned()];
    for (usage, about) in HELP_ROWS {
        let gap = if usage.len() > 20 { "   " } else { " " };
        lines.push(format!("  {usage:<20}{gap}{about}"));
    }
    lines.push(HELP_KEYS.to_owned());
    lines
}

/// The lines of [`help`] about `/otr`.
pub fn otr_help() -> Vec<String> {
    help().into_iter().filter(|l| l.contains("/otr")).collect()
}

/// `name rest` after the `/`: the command and its (trimmed) arguments, or the unknown
/// name.
pub fn parse(command: &str) -> Result<(Name, &str), String> {
    let (name, rest) = split_word(command);
    lookup(NAMES, name)
        .map(|n| (n, rest.trim()))
        .ok_or_else(|| name.to_owned())
}

/// The `/otr` subcommand and its arguments, or the unknown name (lowercased).
pub fn parse_otr(args: &str) -> Result<(OtrName, &str), String> {
    let (sub, rest) = split_word(args);
    lookup(OTR_NAMES, sub)
        .map(|n| (n, rest))
        .ok_or_else(|| sub.to_ascii_lowercase())
}

/// The `/group` subcommand and its first argument (a nick or channel, possibly empty).
pub fn parse_group(args: &str) -> Option<(GroupName, &str)> {
    let (sub, rest) = split_word(args);
    let (arg, _) = split_word(rest.trim());
    lookup(GROUP_NAMES, sub).map(|n| (n, arg))
}

fn lookup<T: Copy>(table: &[(&str, T)], name: &str) -> Option<T> {
    table
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| *v)
}

/// The first word and the rest (leading white space trimmed from both).
pub fn split_word(s: &str) -> (&str, &str) {
    let s = s.trim_start();
    match s.split_once(char::is_whitespace) {
        Some((first, rest)) => (first, rest.trim_start()),
        None => (s, ""),
    }
}

/// `"a question" secret words` or `question secret words`: the question and the secret.
pub fn split_question(s: &str) -> Option<(String, String)> {
    let s = s.trim();
    let (question, secret) = if let Some(quoted) = s.strip_prefix('"') {
        let (q, rest) = quoted.split_once('"')?;
        (q.to_owned(), rest.trim().to_owned())
    } else {
        let (q, rest) = split_word(s);
        (q.to_owned(), rest.trim().to_owned())
    };
    (!question.is_empty() && !secret.is_empty()).then_some((question, secret))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used, clippy::unwrap_used)]

    use super::*;

    #[test]
    fn names_and_aliases_resolve_case_blind() {
        assert_eq!(parse("J #rust"), Ok((Name::Join, "#rust")));
        assert_eq!(
            parse("msg bob  hi there "),
            Ok((Name::Msg, "bob  hi there"))
        );
        assert_eq!(parse("frobnicate now"), Err("frobnicate".to_owned()));
        assert_eq!(parse_otr("AuthQ q s"), Ok((OtrName::AuthQ, "q s")));
        assert_eq!(parse_otr(""), Ok((OtrName::Help, "")));
        assert_eq!(parse_otr("dance"), Err("dance".to_owned()));
        assert_eq!(
            parse_group("invite bob extra"),
            Some((GroupName::Invite, "bob"))
        );
        assert_eq!(parse_group("nope"), None);
    }

    #[test]
    fn every_help_row_names_commands_that_parse() {
        for (usage, _) in HELP_ROWS {
            for part in usage.split(", ") {
                let command = part.trim_start_matches('/');
                let (name, rest) = parse(command).expect(usage);
                for alt in rest.split_whitespace().next().unwrap_or("").split('|') {
                    match name {
                        Name::Otr => assert!(parse_otr(alt).is_ok(), "{usage}"),
                        Name::Group => assert!(parse_group(alt).is_some(), "{usage}"),
                        _ => {}
                    }
                }
            }
        }
    }

    #[test]
    fn questions_may_be_quoted() {
        assert_eq!(
            split_question("\"where did we meet\" at the lake"),
            Some(("where did we meet".into(), "at the lake".into()))
        );
        assert_eq!(
            split_question("colour blue"),
            Some(("colour".into(), "blue".into()))
        );
        assert_eq!(split_question("lonely"), None);
    }
}
