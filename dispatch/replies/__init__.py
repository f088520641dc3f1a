"""What people write back to Loa: what a campaign asks (`ask`), how an answer is read
(`parse`), which campaign an MO answers (`attribute`), acknowledgements (`ack`), app answers, and
the staff inbox (`inbox`)."""
