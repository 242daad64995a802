//! `/otr` commands in a query window: start, finish, trust, authenticate (SMP), info,
//! policy.

use super::*;

impl App {
    pub(super) fn otr_command(&mut self, args: &str, now: f64, out: &mut Vec<IrcCommand>) {
        let i = self.active;
        let (name, rest) = match command::parse_otr(args) {
            Ok(parsed) => parsed,
            Err(other) => {
                let text = format!("Unknown OTR command /otr {other}. Type /otr help.");
                self.error_line(&text, now);
                return;
            }
        };
        let sub = command::split_word(args).0.to_ascii_lowercase();
        match name {
            OtrName::Help => {
                for line in command::otr_help() {
                    self.windows[i].push(now, LineKind::Output, &line);
                }
                return;
            }
            OtrName::Info => {
                self.otr_info(now);
                return;
            }
            OtrName::Policy => {
                self.otr_policy(rest.trim(), now);
                return;
            }
            _ => {}
        }
        if self.windows[i].kind != WindowKind::Query {
            let text = format!("/otr {sub} works in a private conversation: open one with /query NICK. Channels are never OTR.");
            self.error_line(&text, now);
            return;
        }
        let peer = self.windows[i].name.clone();
        self.prepare_peer(&peer);
        match name {
            OtrName::Init => {
                let outputs = match self.node.start_private(&peer) {
                    Ok(outputs) => outputs,
                    Err(e) => return self.refused(i, &peer, &e, now),
                };
                let was = self.windows[i].otr;
                self.handle_outputs(outputs, None, now, out);
                let w = &mut self.windows[i];
                if w.otr == OtrStatus::Starting && was != OtrStatus::Starting {
                    w.push(
                        now,
                        LineKind::Otr,
                        &format!("Starting a private conversation with {peer}..."),
                    );
                } else if w.otr.is_private() {
                    w.push(
                        now,
                        LineKind::Otr,
                        &format!("Refreshing the private conversation with {peer}..."),
                    );
                }
            }
            OtrName::Finish => {
                let state = self.node.engine().state(&peer);
                if state == ConversationState::Plaintext {
                    let text = format!("There is no private conversation with {peer} to finish.");
                    self.error_line(&text, now);
                    return;
                }
                let outputs = self.node.finish_private(&peer);
                self.handle_outputs(outputs, None, now, out);
                self.windows[i].otr = self.status_from_engine(&peer);
            }
            OtrName::Trust | OtrName::Distrust => {
                let trusted = name == OtrName::Trust;
                let Some(fp) = self.node.engine().peer_fingerprint(&peer) else {
                    let text = format!("There is no private conversation with {peer}, so there is no fingerprint to {sub}.");
                    self.error_line(&text, now);
                    return;
                };
                let before = self.windows[i].otr;
                let outputs = match self.node.set_trust(&peer, trusted) {
                    Ok(outputs) => outputs,
                    Err(e) => return self.refused(i, &peer, &e, now),
                };
                self.trust_changed = true;
                self.handle_outputs(outputs, None, now, out);
                if self.windows[i].otr == before {
                    let word = if trusted { "verified" } else { "not verified" };
                    let text = format!("{peer}'s fingerprint {fp} is {word}.");
                    self.windows[i].push(now, LineKind::Otr, &text);
                }
            }
            OtrName::Auth => {
                let mut secret = rest.trim().to_owned();
                if secret.is_empty() {
                    self.usage("/otr auth SECRET", now);
                    return;
                }
                let outputs = if let SmpStatus::Requested(q) = &self.windows[i].smp {
                    self.windows[i].smp = SmpStatus::Answered {
                        question: q.is_some(),
                    };
                    self.windows[i].push(
                        now,
                        LineKind::Otr,
                        &format!("Answering {peer}'s verification..."),
                    );
                    self.node.smp_respond(&peer, secret.as_bytes())
                } else {
                    self.smp_start_line(i, &peer, None, now);
                    self.node.smp_start(&peer, secret.as_bytes(), None)
                };
                secret.zeroize();
                match outputs {
                    Ok(outputs) => self.handle_outputs(outputs, None, now, out),
                    Err(e) => self.refused(i, &peer, &e, now),
                }
            }
            OtrName::AuthQ => {
                let Some((question, mut secret)) = command::split_question(rest) else {
                    self.usage(
                        "/otr authq QUESTION SECRET (quote a question with spaces: \"...\")",
                        now,
                    );
                    return;
                };
                self.smp_start_line(i, &peer, Some(&question), now);
                let outputs = self
                    .node
                    .smp_start(&peer, secret.as_bytes(), Some(&question));
                secret.zeroize();
                match outputs {
                    Ok(outputs) => self.handle_outputs(outputs, None, now, out),
                    Err(e) => self.refused(i, &peer, &e, now),
                }
            }
            OtrName::Abort => {
                let outputs = self.node.smp_abort(&peer);
                self.windows[i].smp = SmpStatus::Idle;
                match outputs {
                    Ok(outputs) => self.handle_outputs(outputs, None, now, out),
                    Err(e) => self.refused(i, &peer, &e, now),
                }
            }
            OtrName::Help | OtrName::Info | OtrName::Policy => {}
        }
    }

    /// The engine refused what the user asked in window `i` (with `peer`): say why there.
    pub(super) fn refused(&mut self, i: usize, peer: &str, error: &EngineError, now: f64) {
        let w = &mut self.windows[i];
        w.push(now, LineKind::Error, &notices::describe_error(error, peer));
        w.bump(Activity::Highlight);
    }

    pub(super) fn smp_start_line(
        &mut self,
        i: usize,
        peer: &str,
        question: Option<&str>,
        now: f64,
    ) {
        let w = &mut self.windows[i];
        if !w.otr.is_private() {
            return;
        }
        w.smp = SmpStatus::Asked;
        let text = match question {
            Some(q) => format!("Asking {peer} to verify with the question: {q}"),
            None => format!("Asking {peer} to verify with the shared secret..."),
        };
        w.push(now, LineKind::Otr, &text);
    }

    pub(super) fn otr_info(&mut self, now: f64) {
        let i = self.active;
        let mut lines = vec![format!(
            "Your fingerprint ({}): {}",
            self.nick,
            self.node.engine().fingerprint()
        )];
        if self.windows[i].kind == WindowKind::Query {
            let peer = self.windows[i].name.clone();
            let status = self.windows[i].otr;
            match self.node.engine().peer_fingerprint(&peer) {
                Some(fp) => {
                    let trusted = self
                        .node
                        .engine()
                        .known_fingerprints()
                        .is_trusted(&peer, &fp);
                    let word = if trusted { "verified" } else { "NOT verified" };
                    lines.push(format!("{peer}'s fingerprint: {fp} ({word})"));
                }
                None => lines.push(format!("{peer}: no private session, no fingerprint yet.")),
            }
            lines.push(format!("Conversation with {peer}: {}", status.as_str()));
            for (name, fp, trusted) in self.node.engine().known_fingerprints().iter() {
                if name.eq_ignore_ascii_case(&peer) {
                    let word = if trusted { "verified" } else { "not verified" };
                    lines.push(format!("Known for {name}: {fp} ({word})"));
                }
            }
        }
        lines.push(format!("Policy: {}", self.policy_name()));
        for line in lines {
            self.windows[i].push(now, LineKind::Output, &line);
        }
    }

    pub(super) fn otr_policy(&mut self, arg: &str, now: f64) {
        let i = self.active;
        if !arg.is_empty() {
            match Policy::from_preset(&arg.to_ascii_lowercase()) {
                Some(policy) if policy.otr_enabled() => self.node.set_policy(policy),
                _ => {
                    self.usage("/otr policy [manual|opportunistic|always]", now);
                    return;
                }
            }
        }
        let name = self.policy_name();
        let meaning = match name {
            "manual" => "OTR starts only when someone asks (/otr init); messages may go out in the clear",
            "opportunistic" => "OTR starts by itself with peers that have it; messages may go out in the clear until it does",
            "always" => "encryption required: nothing is sent in the clear to a nick; messages wait for the private conversation",
            _ => "OTR is off",
        };
        let lines = [
            format!("OTR policy: {name} ({meaning})."),
            "Set it with /otr policy manual|opportunistic|always.".to_owned(),
        ];
        for line in lines {
            self.windows[i].push(now, LineKind::Output, &line);
        }
    }
}

/// A policy's preset name.
pub(super) fn policy_name(policy: Policy) -> &'static str {
    ["always", "opportunistic", "manual", "never"]
        .into_iter()
        .find(|name| Policy::from_preset(name) == Some(policy))
        .unwrap_or("custom")
}
