"""Call sources: simulator and the local CTI bridge."""
