//! What the network brings: IRC events (connection, messages, joins, quits, nick changes,
//! presence answers) turned into engine and room input and window lines.

use super::*;

impl App {
    /// Something happened on the network.
    #[must_use = "the commands must be given to the transport"]
    pub fn on_irc(&mut self, event: IrcEvent, now: f64) -> Vec<IrcCommand> {
        let mut out = Vec::new();
        match event {
            IrcEvent::Connected { nick } => {
                self.nick = nick;
                self.connected = true;
                self.connection = "connected".to_owned();
                let text = format!("Connected as {}.", self.nick);
                self.windows[0].push(now, LineKind::Info, &text);
            }
            IrcEvent::NickInUse { refused, trying } => {
                let text = format!("The nick {refused} is taken; trying {trying}.");
                self.windows[0].push(now, LineKind::Info, &text);
            }
            IrcEvent::Disconnected {
                reason,
                retry_in_ms,
            } => {
                self.connected = false;
                let secs = retry_in_ms.div_ceil(1000);
                self.connection = format!("disconnected, retrying in {secs}s");
                let text = format!("Disconnected ({reason}); reconnecting in {secs} s.");
                for w in &mut self.windows {
                    if w.kind != WindowKind::Query {
                        w.push(now, LineKind::Error, &text);
                    }
                }
            }
            IrcEvent::Message {
                from,
                target,
                text,
                notice,
            } => self.on_message(&from, &target, &text, notice, now, &mut out),
            IrcEvent::Joined { channel, nick } => {
                if self.is_me(&nick) {
                    let i = self.open(&channel, WindowKind::Channel);
                    self.windows[i].members.insert(nick.clone());
                    self.windows[i].push(
                        now,
                        LineKind::Info,
                        &format!("You joined {channel}. Channel messages are public: OTR protects private conversations only (/query NICK)."),
                    );
                    let for_room = self
                        .room_channel_join
                        .as_deref()
                        .is_some_and(|c| c.eq_ignore_ascii_case(&channel));
                    if for_room {
                        self.room_channel_join = None;
                        self.windows[i].push(
                            now,
                            LineKind::Info,
                            "Joined for the room you accepted: its lines here are tagged and encrypted, and are not shown as chatter.",
                        );
                    } else {
                        self.activate(i);
                    }
                } else if let Some(i) = self.find(&channel) {
                    self.windows[i].members.insert(nick.clone());
                    self.windows[i].push(now, LineKind::Info, &format!("{nick} joined {channel}"));
                    self.windows[i].bump(Activity::Info);
                }
            }
            IrcEvent::Parted {
                channel,
                nick,
                reason,
            } => {
                let reason = bracket(&reason);
                if self.is_me(&nick) {
                    if let Some(i) = self.find(&channel) {
                        self.windows[i].members.clear();
                        self.windows[i].push(
                            now,
                            LineKind::Info,
                            &format!("You left {channel}{reason}"),
                        );
                    }
                } else if let Some(i) = self.find(&channel) {
                    self.windows[i].members.remove(&nick);
                    self.windows[i].push(
                        now,
                        LineKind::Info,
                        &format!("{nick} left {channel}{reason}"),
                    );
                    self.windows[i].bump(Activity::Info);
                }
            }
            IrcEvent::Quit { nick, reason } => {
                let outputs = self.node.peer_gone(&nick);
                self.handle_outputs(outputs, None, now, &mut out);
                let reason = bracket(&reason);
                for w in &mut self.windows {
                    let here = match w.kind {
                        WindowKind::Channel => w.members.remove(&nick),
                        WindowKind::Query => w.name.eq_ignore_ascii_case(&nick),
                        WindowKind::Status | WindowKind::Room => false,
                    };
                    if here {
                        let mut text = format!("{nick} quit{reason}");
                        if w.kind == WindowKind::Query && w.otr.is_private() {
                            text.push_str(": the private conversation is over on their side; /otr finish, and /otr init when they are back");
                        }
                        w.push(now, LineKind::Info, &text);
                        w.bump(Activity::Info);
                    }
                }
            }
            IrcEvent::NickChanged { old, new } => self.on_nick(&old, &new, now, &mut out),
            IrcEvent::Names { channel, nicks } => {
                if let Some(i) = self.find(&channel) {
                    let w = &mut self.windows[i];
                    w.members.extend(nicks.iter().cloned());
                    let text = format!("Members of {channel}: {}", nicks.join(" "));
                    w.push(now, LineKind::Info, &text);
                }
            }
            IrcEvent::Info(text) => {
                self.windows[0].push(now, LineKind::Info, &text);
                self.windows[0].bump(Activity::Info);
            }
            IrcEvent::NoSuchNick { nick, reason } => {
                let i = self.find(&nick).unwrap_or(0);
                self.windows[i].push(now, LineKind::Info, &format!("{nick}: {reason}"));
                self.windows[i].bump(Activity::Info);
                // A line to a nick that is not on the network: as a QUIT says, it left.
                // The room's host hands off; as host, a member leaves the roster.
                self.peer_left_network(
                    &nick,
                    "a line to it came back: no such nick",
                    now,
                    &mut out,
                );
            }
            IrcEvent::IsOn { asked, online } => {
                for nick in asked {
                    if !online.iter().any(|o| o.eq_ignore_ascii_case(&nick)) {
                        self.peer_left_network(
                            &nick,
                            "the server says it is not on IRC",
                            now,
                            &mut out,
                        );
                    }
                }
            }
            IrcEvent::Undelivered {
                target,
                text,
                written,
                ..
            } => {
                let i = self.find(&target).unwrap_or(0);
                let what = if text.starts_with("?OTR") {
                    "An OTR message".to_owned()
                } else {
                    format!("\"{text}\"")
                };
                let fate = if written {
                    "may not have arrived"
                } else {
                    "was not sent"
                };
                let line = format!(
                    "{what} to {target} {fate}: the connection dropped. Nothing is resent by itself."
                );
                self.windows[i].push(now, LineKind::Error, &line);
                self.windows[i].bump(Activity::Highlight);
            }
            // A later transport version may report more; nothing to show for it yet.
            _ => {}
        }
        out
    }

    /// As a member, asks every [`HOST_POLL_SECS`] whether the room's host is still on IRC.
    pub(super) fn poll_host(&mut self, now: f64, out: &mut Vec<IrcCommand>) {
        let host = match self.node.host_nick() {
            // `roster` is known only once we are a member (or host) of the room.
            Some(host) if self.node.roster().is_some() && !self.node.is_host() => host,
            _ => {
                self.host_polled_at = now;
                return;
            }
        };
        if self.connected && now - self.host_polled_at >= HOST_POLL_SECS {
            self.host_polled_at = now;
            out.push(IrcCommand::Ison(vec![host.to_owned()]));
        }
    }

    /// The server told us (`why`) that `nick` is not on IRC, though we may share no
    /// channel with it (so no QUIT came): if it hosts our room, the room hands off to the
    /// next host; if we host, it leaves the roster (as [`group::Node::peer_gone`] does for
    /// a QUIT). An answer about a host we already left behind changes nothing.
    pub(super) fn peer_left_network(
        &mut self,
        nick: &str,
        why: &str,
        now: f64,
        out: &mut Vec<IrcCommand>,
    ) {
        let was_host = !self.node.is_host()
            && self.node.roster().is_some()
            && self.node.host_nick() == Some(nick);
        if was_host {
            let text = format!(
                "The room's host {nick} left IRC ({why}): the room moves to the next host."
            );
            self.group_note(&text, now);
        }
        let outputs = self.node.peer_gone(nick);
        self.handle_outputs(outputs, None, now, out);
    }

    pub(super) fn on_message(
        &mut self,
        from: &str,
        target: &str,
        text: &str,
        notice: bool,
        now: f64,
        out: &mut Vec<IrcCommand>,
    ) {
        if is_channel(target) {
            let i = self.open(target, WindowKind::Channel);
            self.windows[i].members.insert(from.to_owned());
            if group::envelope::untag(text).is_some() {
                // A room line delivered in the channel (`?RECV?to?ENDRECV??SEND?from?
                // ENDSEND?<OTR>`): room traffic, never channel chatter. The node drops
                // lines for others and feeds ours to our OTR session with the sender.
                let outputs = self.node.receive_channel(target, from, text);
                self.handle_outputs(outputs, None, now, out);
                return;
            }
            let outputs = self.node.receive_channel_text(from, text);
            self.handle_outputs(outputs, Some(i), now, out);
            return;
        }
        // A server notice before registration, or a NOTICE from a nick: shown, never OTR.
        if notice || from.is_empty() || from.contains('.') {
            let i = self.find(from).unwrap_or(0);
            let outputs = self.node.receive_channel_text(from, text);
            self.handle_outputs(outputs, Some(i), now, out);
            return;
        }
        // While in a room, room traffic arrives as private messages from its members: a
        // query window opens only for what is shown there (see handle_outputs). So it does
        // for a private session with no window, which only a room sets up: a former fellow
        // member's room traffic still in flight when we left must not open an empty one.
        let peer = match self.find(from) {
            Some(i) => self.windows[i].name.clone(),
            None if self.node.room_id().is_some()
                || self.node.engine().state(from) == ConversationState::Encrypted =>
            {
                from.to_owned()
            }
            None => {
                let i = self.open(from, WindowKind::Query);
                self.windows[i].name.clone()
            }
        };
        self.prepare_peer(&peer);
        let outputs = self.node.receive_private(&peer, text);
        self.handle_outputs(outputs, None, now, out);
    }

    pub(super) fn on_nick(&mut self, old: &str, new: &str, now: f64, out: &mut Vec<IrcCommand>) {
        if self.is_me(old) {
            self.nick = new.to_owned();
            let text = format!("You are now known as {new}.");
            self.windows[0].push(now, LineKind::Info, &text);
            for w in &mut self.windows {
                if w.kind == WindowKind::Channel && w.members.remove(old) {
                    w.members.insert(new.to_owned());
                    w.push(now, LineKind::Info, &text);
                }
            }
            return;
        }
        for w in &mut self.windows {
            if w.kind == WindowKind::Channel && w.members.remove(old) {
                w.members.insert(new.to_owned());
                w.push(now, LineKind::Info, &format!("{old} is now known as {new}"));
            }
        }
        let Some(i) = self.find(old) else { return };
        if self.windows[i].kind != WindowKind::Query {
            return;
        }
        let old_name = self.windows[i].name.clone();
        // The window moves to the new nick; a window already open for the new nick closes
        // into it (its conversation was with someone else under that nick).
        if let Some(j) = self.find(new).filter(|&j| j != i) {
            self.close(j);
        }
        let Some(i) = self.find(&old_name) else {
            return;
        };
        self.windows[i].name = new.to_owned();
        // Same key, same person: the verification carries over to the new nick.
        let outputs = self.node.rename_peer(&old_name, new);
        let w = &mut self.windows[i];
        w.push(
            now,
            LineKind::Info,
            &format!("{old_name} is now known as {new}"),
        );
        w.bump(Activity::Info);
        self.prepare_peer(new);
        self.handle_outputs(outputs, None, now, out);
    }
}
