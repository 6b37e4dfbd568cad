project_id  = "ml-platform-staging"
environment = "staging"
