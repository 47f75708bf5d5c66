"""Appointments and their outcomes, as canonical JSON or FHIR R4 `Appointment`."""
