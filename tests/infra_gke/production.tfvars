project_id  = "ml-platform-prod"
environment = "production"
node_count  = 3
