//! `offrecord demo --group`: a private group conversation on an in-memory network.
//!
//! Alice hosts a room (the paper's virtual server) with Bob and Carol over a channel: each
//! line is an OTR message addressed with the paper's `?RECV?…?ENDRECV?` and
//! `?SEND?…?ENDSEND?` tags, and Eve, in the channel, sees every line. They talk; then
//! Alice's client turns malicious: it alters one of Bob's lines on its way to Carol.
//! Carol's client catches it at once by Bob's pairwise MAC, and Bob and Carol both see
//! their transcripts diverge when they compare digests over their own OTR session. A closing check confirms that no typed text appeared on the wire.

use std::collections::{BTreeMap, VecDeque};
use std::io::Write;

use group::envelope::{Envelope, Item};
use group::{Auth, Config, Delivery, Node, Output, Target};
use otr::crypto::DsaPrivateKey;
use otr::wire::encoded::InstanceTag;
use otr::{Engine, EngineConfig};
use rand_core::OsRng;

const CHANNEL: &str = "#offrecord";
const HOST: &str = "alice";
const MEMBERS: [&str; 2] = ["bob", "carol"];
/// How many characters of a line Eve's view shows.
const EVE_WIDTH: usize = 70;

const SCRIPT: &[(&str, &str)] = &[
    (
        HOST,
        "Welcome, both. This room is private: I relay, but only you read.",
    ),
    ("bob", "Thanks Alice. Carol, did you get the figures?"),
    ("carol", "I did. The March budget is 12,400."),
    ("bob", "Then we sign on Thursday."),
];

/// Runs the group demo, writing a readable transcript to `out`.
pub fn run(out: &mut dyn Write, colour: bool) -> anyhow::Result<()> {
    let mut d = GroupDemo::new(out, colour)?;
    d.open_room()?;
    d.conversation()?;
    d.tampering()?;
    d.summary()
}

struct GroupDemo<'a> {
    out: &'a mut dyn Write,
    colour: bool,
    nodes: BTreeMap<&'static str, Node>,
    network: VecDeque<(String, Target, String)>,
    eve: Vec<String>,
    typed: Vec<String>,
    now: f64,
    alerts: usize,
}

impl<'a> GroupDemo<'a> {
    fn new(out: &'a mut dyn Write, colour: bool) -> anyhow::Result<Self> {
        writeln!(
            out,
            "offrecord demo --group: Alice hosts a private room for Bob and Carol in {CHANNEL}"
        )?;
        writeln!(
            out,
            "Every line goes through the channel, addressed with ?RECV?/?SEND? tags; Eve is in the channel too."
        )?;
        writeln!(out)?;
        writeln!(out, "Generating three 1024-bit DSA identity keys...")?;
        let started = std::time::Instant::now();
        let mut nodes = BTreeMap::new();
        for (i, nick) in [HOST, MEMBERS[0], MEMBERS[1]].into_iter().enumerate() {
            let engine = Engine::new(
                DsaPrivateKey::generate(&mut OsRng),
                EngineConfig {
                    instance_tag: InstanceTag(0x100 + i as u32 * 0x1111),
                    ..EngineConfig::default()
                },
                Box::new(OsRng),
            );
            let mut config = Config::new(nick);
            config.delivery = Delivery::Channel(CHANNEL.into());
            nodes.insert(nick, Node::new(engine, config, Box::new(OsRng)));
        }
        writeln!(out, "done in {:.1} s.", started.elapsed().as_secs_f64())?;
        Ok(Self {
            out,
            colour,
            nodes,
            network: VecDeque::new(),
            eve: Vec::new(),
            typed: Vec::new(),
            now: 1_700_000_000.0,
            alerts: 0,
        })
    }

    fn section(&mut self, title: &str) -> anyhow::Result<()> {
        writeln!(self.out)?;
        if self.colour {
            writeln!(self.out, "\x1b[1m== {title} ==\x1b[0m")?;
        } else {
            writeln!(self.out, "== {title} ==")?;
        }
        Ok(())
    }

    fn node(&mut self, nick: &str) -> anyhow::Result<&mut Node> {
        self.nodes
            .get_mut(nick)
            .ok_or_else(|| anyhow::anyhow!("no participant {nick}"))
    }

    /// Queues a participant's outputs; shows what it displays when `show` is set.
    fn absorb(&mut self, who: &str, outs: Vec<Output>, show: bool) -> anyhow::Result<()> {
        for o in outs {
            match o {
                Output::Send { to, line } => self.network.push_back((who.to_owned(), to, line)),
                Output::Message(m) if show && m.sender != who => {
                    let how = match m.auth {
                        Auth::Pairwise => "verified by a MAC only the two of them share",
                        Auth::Session => "from the host's own session",
                        Auth::HostAttested => "vouched for by the host only",
                        Auth::Failed => "AUTHENTICATION FAILED",
                        _ => "",
                    };
                    writeln!(
                        self.out,
                        "    {who:>6} reads #{} <{}> {}   [{how}]",
                        m.gseq, m.sender, m.text
                    )?;
                }
                Output::Alert(a) => {
                    self.alerts += 1;
                    if self.colour {
                        writeln!(self.out, "    \x1b[1;31m{who:>6} ALERT: {a}\x1b[0m")?;
                    } else {
                        writeln!(self.out, "    {who:>6} ALERT: {a}")?;
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Delivers until quiet; Eve's view of each line when `eve_view`.
    fn deliver(&mut self, eve_view: bool, show: bool) -> anyhow::Result<()> {
        while let Some((from, to, line)) = self.network.pop_front() {
            self.eve.push(line.clone());
            if eve_view {
                let shown: String = line
                    .chars()
                    .map(|c| if c.is_control() { '.' } else { c })
                    .take(EVE_WIDTH)
                    .collect();
                let dots = if line.chars().count() > EVE_WIDTH {
                    "..."
                } else {
                    ""
                };
                let place = match &to {
                    Target::Channel(c) => c.clone(),
                    Target::Private(p) => format!("private to {p}"),
                };
                writeln!(self.out, "    eve sees {from:>6} -> {place}: {shown}{dots}")?;
            }
            let dests: Vec<&'static str> = match &to {
                Target::Channel(_) => self.nodes.keys().copied().filter(|n| *n != from).collect(),
                Target::Private(p) => self.nodes.keys().copied().filter(|n| n == p).collect(),
            };
            for d in dests {
                let outs = match &to {
                    Target::Channel(c) => self.node(d)?.receive_channel(c, &from, &line),
                    Target::Private(_) => self.node(d)?.receive_private(&from, &line),
                };
                self.absorb(d, outs, show)?;
            }
        }
        Ok(())
    }

    fn act(
        &mut self,
        who: &'static str,
        f: impl FnOnce(&mut Node) -> Result<Vec<Output>, group::GroupError>,
    ) -> anyhow::Result<()> {
        let outs = f(self.node(who)?)?;
        self.absorb(who, outs, true)
    }

    fn advance(&mut self, secs: u32, show: bool) -> anyhow::Result<()> {
        for _ in 0..secs {
            self.now += 1.0;
            let now = self.now;
            for nick in [HOST, MEMBERS[0], MEMBERS[1]] {
                let outs = self.node(nick)?.tick(now);
                self.absorb(nick, outs, show)?;
            }
            self.deliver(false, show)?;
        }
        Ok(())
    }

    fn open_room(&mut self) -> anyhow::Result<()> {
        self.section("Alice opens a room and invites Bob and Carol")?;
        self.act(HOST, Node::host)?;
        for m in MEMBERS {
            self.act(HOST, |h| h.invite(m))?;
            self.deliver(false, false)?;
            self.act(m, Node::accept)?;
            self.deliver(false, false)?;
        }
        // Bob and Carol derive their pairwise MAC key over their own OTR session.
        self.advance(1, false)?;
        let roster = self
            .node("carol")?
            .roster()
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("carol has no roster"))?;
        writeln!(
            self.out,
            "The host announces the roster, with fingerprints:"
        )?;
        for e in &roster.members {
            writeln!(self.out, "    {:>6}  {}", e.nick, e.fingerprint)?;
        }
        if let Some(info) = self.node("carol")?.info() {
            writeln!(
                self.out,
                "Carol's room state (the paper's otr.chatinfo line):"
            )?;
            writeln!(self.out, "    {}", info.to_line().replace('\t', "  "))?;
        }
        Ok(())
    }

    fn conversation(&mut self) -> anyhow::Result<()> {
        self.section("A conversation, relayed by Alice")?;
        for (who, text) in SCRIPT {
            writeln!(self.out, "  {who} types: {text}")?;
            self.typed.push((*text).to_owned());
            self.act(who, |n| n.say(text))?;
            self.deliver(true, true)?;
        }
        self.advance(6, true)?;
        Ok(())
    }

    fn tampering(&mut self) -> anyhow::Result<()> {
        self.section("Alice's client turns malicious")?;
        writeln!(
            self.out,
            "  It will change Bob's next line on its way to Carol. Bob's MAC for Carol, under a key only they"
        )?;
        writeln!(
            self.out,
            "  share, no longer fits; and Bob's and Carol's transcript digests, compared over their own OTR"
        )?;
        writeln!(
            self.out,
            "  session every 8 lines or 5 seconds, no longer agree."
        )?;
        self.node(HOST)?
            .set_relay_hook(Some(Box::new(|to: &str, mut env: Envelope| {
                if to == "carol" {
                    if let Envelope::Relay {
                        item: Item::Msg(m), ..
                    } = &mut env
                    {
                        if m.sender == "bob" {
                            m.body = "Then we sign on Friday.".into();
                        }
                    }
                }
                vec![env]
            })));
        let text = "Correction: we sign on Thursday at ten.";
        writeln!(self.out, "  bob types: {text}")?;
        self.typed.push(text.into());
        self.act("bob", |n| n.say(text))?;
        self.deliver(false, true)?;
        self.advance(6, true)?;
        Ok(())
    }

    fn summary(&mut self) -> anyhow::Result<()> {
        self.section("Summary")?;
        let leaked: Vec<&String> = self
            .typed
            .iter()
            .filter(|t| self.eve.iter().any(|l| l.contains(t.as_str())))
            .collect();
        writeln!(self.out, "Lines on the wire: {}", self.eve.len())?;
        if leaked.is_empty() {
            writeln!(self.out, "No typed text ever appeared on the wire.")?;
        } else {
            writeln!(self.out, "LEAKED on the wire: {leaked:?}")?;
        }
        writeln!(
            self.out,
            "Alerts raised against the tampering host: {}",
            self.alerts
        )?;
        if !leaked.is_empty() || self.alerts == 0 {
            anyhow::bail!("the group demo did not show what it promises");
        }
        Ok(())
    }
}
