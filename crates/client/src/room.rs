//! The room glue of [`Client`]: room actions, the room's timers, and checking that the
//! room's host is still on the network.

use crate::client::{Client, Step};
use crate::vocabulary::{NetCommand, Refusal, RoomAction, Update};

/// Seconds between two checks that the room's host is still on the network, while we are
/// a member. A room travels by private messages, so we may share no channel with the host,
/// and the server tells a quit only to those who do: without this check a crashed host
/// would go unnoticed until someone's line went unrelayed for the room's 12 s deadline.
/// One short line (`ISON nick`) every 20 s stays far inside any server's flood allowance,
/// and 20 s is about the time users wait before they think a room is dead.
pub const HOST_POLL_SECS: f64 = 20.0;

impl Client {
    /// Runs a room action.
    pub(crate) fn room_action(&mut self, action: RoomAction, step: &mut Step) {
        if self.nick != self.node.nick() && !matches!(action, RoomAction::Leave) {
            step.updates.push(Update::Refused(Refusal::RoomNick {
                room_nick: self.node.nick().to_owned(),
            }));
            return;
        }
        let result = match &action {
            RoomAction::Host {
                channel: Some(channel),
            } => {
                if !self.in_channel(channel) {
                    step.updates
                        .push(Update::Refused(Refusal::NotInChannel(channel.clone())));
                    return;
                }
                self.node.host_in(channel)
            }
            RoomAction::Host { channel: None } => self.node.host(),
            RoomAction::Invite(nick) => {
                self.prepare_peer(nick);
                self.node.invite(nick)
            }
            RoomAction::InviteThin(nick) => {
                self.prepare_peer(nick);
                self.node.invite_thin(nick)
            }
            RoomAction::Kick(nick) => self.node.kick(nick),
            RoomAction::Accept => {
                if let group::Delivery::Channel(ch) = self.node.delivery() {
                    // The host delivers the room in a channel: we join it first (the JOIN
                    // goes out before our answer, so the server has us in the channel when
                    // the room's lines start).
                    if self.node.room_id().is_some() && !self.in_channel(&ch) {
                        step.commands.push(NetCommand::Join(ch.clone()));
                        self.room_channel_join = Some(ch);
                    }
                }
                if let Some(host) = self.node.host_nick().map(str::to_owned) {
                    self.prepare_peer(&host);
                }
                self.node.accept()
            }
            RoomAction::Leave => self.node.leave(),
        };
        match result {
            Ok(outputs) => self.handle_outputs(outputs, None, step),
            Err(e) => step.updates.push(Update::Refused(Refusal::Group(e))),
        }
    }

    /// The channel we are joining for the room we accepted, until we are in it.
    pub fn joining_for_room(&self) -> Option<&str> {
        self.room_channel_join.as_deref()
    }

    /// Brings the room's clock to now (its resends and deadlines).
    pub(crate) fn tick_room(&mut self, step: &mut Step) {
        let outputs = self.node.tick(self.now);
        self.handle_outputs(outputs, None, step);
    }

    /// As a member, asks every [`HOST_POLL_SECS`] whether the room's host is still online.
    pub(crate) fn poll_host(&mut self, step: &mut Step) {
        let host = match self.node.host_nick() {
            // The roster is known only once we are a member (or host) of the room.
            Some(host) if self.node.roster().is_some() && !self.node.is_host() => host,
            _ => {
                self.host_polled_at = self.now;
                return;
            }
        };
        if self.connected && self.now - self.host_polled_at >= HOST_POLL_SECS {
            self.host_polled_at = self.now;
            step.commands
                .push(NetCommand::CheckPresence(vec![host.to_owned()]));
        }
    }
}
