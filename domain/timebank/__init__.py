"""The time bank (时间储蓄): the ledger, volunteering and verification, spending hours."""
