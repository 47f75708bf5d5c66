"""What happens to a lead after intake, across the domains: recording its appointments,
re-routing and reassigning it, reading it back. Above the domains it calls; they never
import it."""
