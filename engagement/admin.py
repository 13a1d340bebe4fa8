from django.contrib import admin

from .models import Attendance, Feedback, Project, ProjectSession

admin.site.register([Attendance, Feedback, Project, ProjectSession])
