//! Rooms in the chat client: `/group` commands, the room window, the roster, alerts.

use super::*;

impl App {
    /// Shows a group node output (not a transmission, not an OTR event) in the room window.
    pub(super) fn on_group(&mut self, output: Output, now: f64) {
        match output {
            Output::Message(m) => {
                let i = self.room_window_index(&m.room.to_string());
                let w = &mut self.windows[i];
                match m.auth {
                    Auth::Own => w.push(
                        now,
                        LineKind::Own {
                            nick: m.sender,
                            delivery: Delivery::Private,
                        },
                        &m.text,
                    ),
                    Auth::Failed => {
                        w.push(
                            now,
                            LineKind::Error,
                            &format!(
                                "UNAUTHENTICATED line attributed to {}: {}",
                                m.sender, m.text
                            ),
                        );
                        w.bump(Activity::Highlight);
                    }
                    // Session and Pairwise: known end to end. HostAttested: only the
                    // host's word, marked. Later kinds are treated as the host's word.
                    auth => {
                        let vouched = !matches!(auth, Auth::Session | Auth::Pairwise);
                        w.push(
                            now,
                            LineKind::Message {
                                from: m.sender,
                                private: true,
                                vouched,
                                other_key: None,
                            },
                            &m.text,
                        );
                        w.bump(Activity::Message);
                    }
                }
            }
            Output::Alert(alert) => {
                let i = self.room_alert_window();
                let w = &mut self.windows[i];
                w.push(now, LineKind::Error, &format!("ROOM ALERT: {alert}"));
                w.bump(Activity::Highlight);
            }
            Output::Roster { room, roster, .. } => {
                let i = self.room_window_index(&room.to_string());
                let w = &mut self.windows[i];
                w.members = roster.members.iter().map(|m| m.nick.clone()).collect();
                let names: Vec<&str> = roster.members.iter().map(|m| m.nick.as_str()).collect();
                w.push(
                    now,
                    LineKind::Info,
                    &format!(
                        "Room members (host {}): {}. /group roster for their fingerprints.",
                        roster.host,
                        names.join(", ")
                    ),
                );
                w.bump(Activity::Info);
                let peers: Vec<String> = roster.members.iter().map(|m| m.nick.clone()).collect();
                for peer in peers {
                    if !self.is_me(&peer) {
                        self.prepare_peer(&peer);
                    }
                }
            }
            Output::Invited {
                room,
                host,
                channel,
            } => {
                let name = room_window_name(&room.to_string());
                self.room_window = Some(name);
                let text = match channel {
                    None => format!("{host} invites you to the private room {room} (delivered by private messages): /group join to accept, /group leave to decline."),
                    Some(ch) if self.in_channel(&ch) => format!("{host} invites you to the private room {room}, delivered in {ch} (encrypted, tagged lines): /group join to accept, /group leave to decline."),
                    Some(ch) => format!("{host} invites you to the private room {room}, delivered in {ch} (encrypted, tagged lines): /group join to accept (it joins {ch} for you), /group leave to decline."),
                };
                let a = self.active;
                self.windows[0].push(now, LineKind::Otr, &text);
                self.windows[0].bump(Activity::Highlight);
                if a != 0 {
                    self.windows[a].push(now, LineKind::Otr, &text);
                }
            }
            Output::Joined { room, host } => {
                let delivery = self.delivery_name();
                let i = self.room_window_index(&room.to_string());
                let w = &mut self.windows[i];
                w.push(
                    now,
                    LineKind::Otr,
                    &format!("You are in room {room}, hosted by {host}, {delivery}."),
                );
                w.bump(Activity::Info);
            }
            Output::HostChanged { room, epoch, host } => {
                let i = self.room_window_index(&room.to_string());
                let w = &mut self.windows[i];
                w.push(
                    now,
                    LineKind::Otr,
                    &format!("The room has a new host: {host} (generation {epoch})."),
                );
                w.bump(Activity::Highlight);
            }
            Output::Left { room, reason } => {
                let i = self.room_window_index(&room.to_string());
                let text = match reason {
                    LeftReason::Left => "You left the room.".to_owned(),
                    LeftReason::Removed => "The host removed you from the room.".to_owned(),
                    LeftReason::Closed => {
                        "You closed the room (the members hand off to a new host).".to_owned()
                    }
                    _ => "You are out of the room.".to_owned(),
                };
                let w = &mut self.windows[i];
                w.push(now, LineKind::Otr, &text);
                w.bump(Activity::Highlight);
                w.members.clear();
                if let Some(info) = &mut w.room {
                    info.level = SecurityLevel::Finished;
                }
                self.left_room = w.room.clone();
                self.room_window = None;
            }
            Output::Info(info) => {
                let i = self.room_window_index(&info.room);
                let w = &mut self.windows[i];
                if w.room.as_ref().map(|r| r.level) != Some(info.level) {
                    w.push(
                        now,
                        LineKind::Otr,
                        &format!("Room security: {}.", level_name(info.level)),
                    );
                }
                w.room = Some(info);
            }
            // Sends and OTR events are handled by handle_outputs; a later version may add more.
            _ => {}
        }
    }

    /// The room window for `room` (an id as displayed), opened if missing.
    pub(super) fn room_window_index(&mut self, room: &str) -> usize {
        let name = room_window_name(room);
        self.room_window = Some(name.clone());
        self.open(&name, WindowKind::Room)
    }

    /// Where an alert goes: the room's window.
    pub(super) fn room_alert_window(&mut self) -> usize {
        match self.node.room_id().map(ToString::to_string) {
            Some(room) => self.room_window_index(&room),
            None => self
                .room_window
                .as_deref()
                .and_then(|n| self.find(n))
                .unwrap_or(0),
        }
    }

    /// The room we are in, as the paper's `otr.chatinfo` line records it (account, room id,
    /// host, security level), for the runner to persist. Once we left the room, were
    /// removed or closed it, the room we were last in with level 1 (finished); `None`
    /// before any room.
    pub fn room_state(&self) -> Option<group::chatinfo::ChatInfo> {
        self.node.info().or_else(|| self.left_room.clone())
    }

    /// `/group ...`: rooms over OTR.
    pub(super) fn group_command(&mut self, args: &str, now: f64, out: &mut Vec<IrcCommand>) {
        let sub = command::split_word(args).0.to_ascii_lowercase();
        let Some((name, nick)) = command::parse_group(args) else {
            self.usage(command::GROUP_USAGE, now);
            return;
        };
        let anywhere = matches!(name, GroupName::Roster | GroupName::Leave);
        if self.nick != self.node.nick() && !anywhere {
            // The room protocol names participants by the nick the client started with.
            let text = format!(
                "/group: rooms work under the nick you started with ({}), not {}.",
                self.node.nick(),
                self.nick
            );
            self.error_line(&text, now);
            return;
        }
        if !self.node.engine().config().policy.otr_enabled() && !anywhere {
            // A room travels over private OTR sessions, which the engine will not start.
            self.error_line("/group: OTR is disabled by the policy, and rooms travel over OTR: /otr policy manual (or opportunistic, always).", now);
            return;
        }
        let mut joining_channel = None;
        let result = match name {
            GroupName::Host if is_channel(nick) => {
                // The paper's design: every room line goes to the channel, tagged with
                // its recipient, so the channel must be ours already.
                if !self.in_channel(nick) {
                    let text = format!("/group host {nick}: you are not in {nick}; /join {nick} first (the room's lines go to that channel)");
                    self.error_line(&text, now);
                    return;
                }
                self.node.host_in(nick)
            }
            GroupName::Host if !nick.is_empty() => {
                self.usage("/group host [#channel]", now);
                return;
            }
            GroupName::Host => self.node.host(),
            GroupName::Invite | GroupName::Kick | GroupName::Thin if nick.is_empty() => {
                self.usage(&format!("/group {sub} NICK"), now);
                return;
            }
            GroupName::Invite => {
                self.prepare_peer(nick);
                self.node.invite(nick)
            }
            GroupName::Thin => {
                // A stock OTR client (irssi, Pidgin): the room reaches it as private
                // messages prefixed with the sender's nick.
                self.prepare_peer(nick);
                self.node.invite_thin(nick)
            }
            GroupName::Kick => self.node.kick(nick),
            GroupName::Join => {
                if let group::Delivery::Channel(ch) = self.node.delivery() {
                    // The host delivers the room in a channel: we join it first (the JOIN
                    // goes out before our answer, so the server has us in the channel when
                    // the room's lines start).
                    if self.node.room_id().is_some() && !self.in_channel(&ch) {
                        out.push(IrcCommand::Join(ch.clone()));
                        self.room_channel_join = Some(ch.clone());
                        joining_channel = Some(ch);
                    }
                }
                if let Some(host) = self.node.host_nick().map(str::to_owned) {
                    self.prepare_peer(&host);
                }
                self.node.accept()
            }
            GroupName::Leave => self.node.leave(),
            GroupName::Roster => {
                self.group_roster(now);
                return;
            }
        };
        match result {
            Ok(outputs) => {
                let joined_or_hosting = matches!(name, GroupName::Host | GroupName::Join);
                self.handle_outputs(outputs, None, now, out);
                if joined_or_hosting {
                    if let Some(room) = self.node.room_id().map(ToString::to_string) {
                        let i = self.room_window_index(&room);
                        self.activate(i);
                    }
                }
                match name {
                    GroupName::Host => {
                        let text = match self.node.delivery() {
                            group::Delivery::Channel(ch) => format!("You host this room in {ch}: every room line goes to {ch}, encrypted and tagged with its recipient (the paper's design); members join {ch} when they accept. /group invite NICK."),
                            _ => "You host this room; its lines travel by private messages. /group invite NICK.".to_owned(),
                        };
                        self.group_note(&text, now);
                    }
                    GroupName::Join => {
                        if let Some(ch) = &joining_channel {
                            let text = format!("Joining {ch}: the host delivers this room there.");
                            self.group_note(&text, now);
                        }
                    }
                    GroupName::Invite => {
                        let text = format!("Invited {nick}: the invitation goes over a private OTR session (starting one if needed).");
                        self.group_note(&text, now);
                    }
                    GroupName::Thin => {
                        let text = format!("Invited {nick} as a thin member (a stock OTR client): it joins once a private OTR session with it is up, and reads the room as private messages prefixed with each sender's nick.");
                        self.group_note(&text, now);
                    }
                    GroupName::Kick => {
                        let text = format!("Removed {nick} from the room: it receives nothing of the room from now on.");
                        self.group_note(&text, now);
                    }
                    GroupName::Leave | GroupName::Roster => {}
                }
            }
            Err(e) => self.error_line(&format!("/group {sub}: {e}"), now),
        }
    }

    /// A line in the room window (or the active one when there is none).
    pub(super) fn group_note(&mut self, text: &str, now: f64) {
        let i = match self.node.room_id().map(ToString::to_string) {
            Some(room) => self.room_window_index(&room),
            None => self.active,
        };
        self.windows[i].push(now, LineKind::Otr, text);
    }

    /// `/group roster`: the host and every member with the fingerprint the host announced
    /// and how its lines are authenticated for us ([`roster_auth`]).
    pub(super) fn group_roster(&mut self, now: f64) {
        let i = self.active;
        let Some(roster) = self.node.roster().cloned() else {
            let text = match (self.node.room_id(), self.node.host_nick()) {
                (Some(room), Some(host)) => format!("Room {room} (host {host}): no roster yet."),
                _ => "You are in no room: /group host to open one.".to_owned(),
            };
            self.windows[i].push(now, LineKind::Output, &text);
            return;
        };
        let room = self
            .node
            .room_id()
            .map(ToString::to_string)
            .unwrap_or_default();
        let delivery = self.delivery_name();
        let w = &mut self.windows[i];
        w.push(
            now,
            LineKind::Output,
            &format!("Room {room}, host {}, {delivery}:", roster.host),
        );
        for m in &roster.members {
            let role = if m.nick == roster.host { " (host)" } else { "" };
            let thin = m.kind == group::MemberKind::Thin;
            let kind = if thin {
                " [thin: stock OTR client]"
            } else {
                ""
            };
            let auth = roster_auth(&self.node, &roster.host, &m.nick, thin);
            w.push(
                now,
                LineKind::Output,
                &format!("  {}{role}{kind} {}: {auth}", m.nick, m.fingerprint),
            );
        }
    }

    /// How our room's lines travel, as the room window and `/group roster` say it.
    pub(super) fn delivery_name(&self) -> String {
        match self.node.delivery() {
            group::Delivery::Channel(ch) => format!("in {ch} (tagged channel lines)"),
            _ => "by private messages".to_owned(),
        }
    }
}

/// How `nick`'s room lines are authenticated for us, as `/group roster` says it: by our own
/// OTR session (we host, or `nick` is the host), end to end by our pairwise key, or only by
/// the host's word (a thin member, or a member whose pairwise key with us is not ready yet;
/// those lines are marked with [`HOST_VOUCHES`]).
pub(super) fn roster_auth(node: &Node, host: &str, nick: &str, thin: bool) -> &'static str {
    if nick == node.nick() {
        "you"
    } else if node.is_host() {
        "end to end: our OTR session with it"
    } else if nick == host {
        "end to end: our OTR session with the host"
    } else if thin {
        "thin: the host vouches"
    } else if node.pairwise_ready(nick) {
        "end to end: our pairwise key"
    } else {
        "pending: the host vouches until our pairwise key is ready"
    }
}

/// The window name of a room.
pub(super) fn room_window_name(room: &str) -> String {
    format!("room:{room}")
}

/// How a room's security level is shown.
pub fn level_name(level: SecurityLevel) -> &'static str {
    match level {
        SecurityLevel::Private => "private",
        SecurityLevel::NotPrivate => "NOT private (no OTR session with the host yet)",
        SecurityLevel::Finished => "finished",
    }
}
