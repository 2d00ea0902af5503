"""The Django Channels peer of the fan-out benchmark: one room, as GNRP Live's, done the Channels
way (a consumer per socket, a group per room, channels_redis's Redis pub/sub layer)."""
