"""What people write back to Loa: replies to campaigns, survey answers, the staff inbox."""
