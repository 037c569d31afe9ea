"""One inbound message over the wire: /wechat, its XML, replay memory, handling it once, replies, photos."""
