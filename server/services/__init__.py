"""The write path: check -> write rows and event rows -> commit -> publish. The only code that
publishes events, and only after its transaction has committed."""
