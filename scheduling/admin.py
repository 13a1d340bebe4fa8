from django.contrib import admin

from .models import Group, InstructorQualification, Semester, Session, Specialization

admin.site.register([Specialization, InstructorQualification, Semester, Group, Session])
