# The deployment guide's cluster: a GKE cluster with its default node pool removed and a
# separately managed GPU node pool, state kept by GitLab (the pipeline fills in the address).
terraform {
  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 6.0"
    }
  }
  backend "http" {}
}

provider "google" {
  project = var.project_id
  region  = var.region
}

resource "google_container_cluster" "primary" {
  name     = "fraud-detector-${var.environment}"
  location = var.region

  # We can't create a cluster with no node pool defined, but we want to only use
  # separately managed node pools. So we create the smallest possible default
  # node pool and immediately delete it.
  remove_default_node_pool = true
  initial_node_count       = 1
}

resource "google_container_node_pool" "primary_nodes" {
  name       = "${google_container_cluster.primary.name}-gpu"
  location   = var.region
  cluster    = google_container_cluster.primary.name
  node_count = var.node_count

  node_config {
    machine_type = "g2-standard-8"
    oauth_scopes = ["https://www.googleapis.com/auth/cloud-platform"]
    labels = {
      env = var.environment
    }
    guest_accelerator {
      type  = "nvidia-l4"
      count = 1
    }
  }
}
