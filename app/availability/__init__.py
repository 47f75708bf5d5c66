"""Appointment availability: the scheduler's Schedules and Slots, and the free slots a lead
can be offered."""
